// tailor-cli: the engine, scriptable. Every error ends in one line on stderr and
// a non-zero exit code: 1 error, 2 usage, 130 cancelled (Ctrl-C).
#include "cli/cli_main.h"

#include <QApplication>
#include <algorithm>
#include <cstring>
#include <memory>

int main(int argc, char** argv)
{
    // Reports draw their charts with the views' plotting code: that needs a
    // QApplication, offscreen unless the caller chose a platform.
    const bool charts = std::any_of(argv, argv + argc, [](const char* a) { return !std::strcmp(a, "--report"); });
    if (charts && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    std::unique_ptr<QCoreApplication> app(charts ? new QApplication(argc, argv) : new QCoreApplication(argc, argv));
    return tailor::cli::run(std::vector<std::string>(argv + 1, argv + argc));
}
