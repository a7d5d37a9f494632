#include "plan_binding.h"
#include "plan_store.h"

#include <QLineEdit>
#include <QSignalBlocker>

namespace tailor::ui {

namespace {
std::string textOf(const CompressionPlan& p, PlanText which)
{
    return which == PlanText::Calib ? p.calib : which == PlanText::Eval ? p.eval_text : p.task;
}
} // namespace

void bindPlanText(QLineEdit* edit, PlanStore* store, PlanText which)
{
    const auto show = [edit, store, which] {
        const QString s = QString::fromStdString(textOf(store->plan(), which));
        if (edit->text() != s) {
            const QSignalBlocker quiet(edit);
            edit->setText(s);
        }
    };
    // one name per text, so a test (or a style sheet) finds every view's copy
    edit->setObjectName(which == PlanText::Calib ? "plan.calib" : which == PlanText::Eval ? "plan.eval" : "plan.task");
    show();
    QObject::connect(store, &PlanStore::changed, edit, [show](PlanStore::Parts parts) {
        if (parts & PlanStore::Texts)
            show();
    });
    QObject::connect(edit, &QLineEdit::textChanged, store, [store, which](const QString& t) {
        const std::string s = t.trimmed().toStdString();
        if (which == PlanText::Calib)
            store->setCalib(s);
        else if (which == PlanText::Eval)
            store->setEvalText(s);
        else
            store->setTask(s);
    });
}

} // namespace tailor::ui
