#pragma once
// The plan as the user edits it on the Compress page: blocks to drop (typed
// here or marked in Blocks), the ranks and widths other views chose (shown,
// the widths clearable), whitening, the quantization scheme box and method,
// the per-layer rules (QuantRulesModel, shown when the plan has them), the
// calibration text, healing settings, the engine's prediction of the result
// (predictPlan: parameters, bytes, speed-up) and loading or saving plan files. Every control writes to the PlanStore and shows it; the plan
// is the store's, never read back from these widgets. An entry that does not
// parse (a half-typed block list or scheme) leaves the store as it was and is
// named by plan(), so a run or a save cannot silently use the older value.
#include "ui/plan_store.h"

#include <QWidget>
#include <memory>
#include <string>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableView;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class QuantRulesModel;

class PlanEditor : public QWidget {
    Q_OBJECT
public:
    PlanEditor(PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    // The store's plan for the open model; throws Error naming an entry that
    // does not parse, or when no model is open.
    CompressionPlan plan() const;
    // A whole plan (a plan file): into the store, which every view shows.
    void setPlan(const CompressionPlan& p);

    QLineEdit* dropEdit() const { return drop_; }
    QCheckBox* healBox() const { return heal_; }
    QComboBox* healMethodBox() const { return healMethod_; }
    QSpinBox* healLayersBox() const { return healLayers_; }
    QSpinBox* healSteps() const { return healSteps_; }
    QDoubleSpinBox* kdWeight() const { return kd_; }
    QComboBox* quantBox() const { return quant_; }
    QuantRulesModel* rulesModel() const { return rulesModel_; } // the store's per-layer rules
    QTableView* rulesTable() const { return rules_; }
    QComboBox* methodBox() const { return method_; }
    QLabel* prediction() const { return prediction_; }
    QLabel* widthLabel() const { return widthLabel_; }
    QPushButton* clearWidthButton() const { return clearWidth_; }

private:
    void showStore(PlanStore::Parts parts); // the store's parts in these controls
    void storeQuantChoice();                // the scheme box into the store
    void storeHeal();                       // the healing boxes into the store
    void updatePrediction();

    PlanStore* store_;
    std::shared_ptr<ModelSession> session_;
    std::string dropError_, quantError_, healError_; // entries that do not parse, named by plan()

    QLineEdit* drop_;
    QLabel* ranksLabel_;
    QLabel* widthLabel_;
    QPushButton* clearWidth_;
    QCheckBox* whiten_;
    QComboBox* quant_;
    QComboBox* method_;
    QuantRulesModel* rulesModel_;
    QTableView* rules_;
    QPushButton* removeRule_;
    QLabel* rulesLabel_;
    QLineEdit* calib_;
    QLabel* prediction_;
    QCheckBox* heal_;
    QComboBox* healMethod_;
    QSpinBox* healLayers_;
    QLineEdit* healText_;
    QSpinBox* healSteps_;
    QSpinBox* healRank_;
    QDoubleSpinBox* healLr_;
    QDoubleSpinBox* kd_;
    QDoubleSpinBox* temperature_;
    QPushButton* loadPlan_;
    QPushButton* savePlan_;
};

} // namespace tailor::ui
