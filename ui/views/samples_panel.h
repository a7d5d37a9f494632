#pragma once
// The Compress page's prompt box: the dense and the compressed model continue
// the same prompt side by side (streamed as the tokens come), then each is
// timed on the decoder (medians of repeated runs, spread, bytes a token,
// roofline; core/decode/decode_speed.h says how).
#include <QWidget>
#include <memory>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace tailor {
class ModelSession;
struct AppliedPlan;
} // namespace tailor

namespace tailor::ui {

class JobRunner;

class SamplesPanel : public QWidget {
    Q_OBJECT
public:
    SamplesPanel(JobRunner* runner, QWidget* parent = nullptr);
    // The models to compare; generation is possible once both are there.
    void setModels(std::shared_ptr<ModelSession> session, std::shared_ptr<AppliedPlan> applied);
    void generate();

    QPushButton* generateButton() const { return generate_; }
    QPlainTextEdit* denseText() const { return denseText_; }
    QPlainTextEdit* compressedText() const { return compressedText_; }
    QLabel* denseSpeed() const { return denseSpeed_; }
    QLabel* compressedSpeed() const { return compressedSpeed_; }

Q_SIGNALS:
    void samplesReady();
    void ended(); // every outcome (done, failed, cancelled), after samplesReady when done

private:
    JobRunner* runner_;
    std::shared_ptr<ModelSession> session_;
    std::shared_ptr<AppliedPlan> applied_;
    QLineEdit* prompt_;
    QPushButton* generate_;
    QPlainTextEdit* denseText_;
    QPlainTextEdit* compressedText_;
    QLabel* denseSpeed_;
    QLabel* compressedSpeed_;
};

} // namespace tailor::ui
