#pragma once
// Where the bundled demo model and texts are: the source tree's resources/
// when running from a build directory, share/tailor/ when installed.
#include <QString>

namespace tailor::ui {

QString resourcesDir();
QString demoModelDir();      // tinystories-12L
QString demoEvalText();      // tinystories-valid-99.txt
QString demoCalibText();     // tinystories-calib-50.txt

} // namespace tailor::ui
