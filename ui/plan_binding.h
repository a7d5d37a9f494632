#pragma once
// A line edit bound to one of the plan store's texts: typing changes the
// store, and a change in the store (another view, a loaded plan) shows here.
// Every view that needs the calibration or evaluation text shows the one the
// store holds, so the workbench has one of each; views read the store, not
// the edit, when they start a job.
class QLineEdit;

namespace tailor::ui {

class PlanStore;

enum class PlanText { Calib, Eval, Task };

void bindPlanText(QLineEdit* edit, PlanStore* store, PlanText which);

} // namespace tailor::ui
