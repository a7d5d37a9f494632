#include "samples_panel.h"
#include "ui/job_runner.h"

#include "core/compress/apply_plan.h"
#include "core/decode/decode_speed.h"
#include "core/decode/generate.h"
#include "core/model/model_session.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>

namespace tailor::ui {

namespace {

struct Samples {
    GenerateResult dense, compressed;
    DecodeSpeed denseSpeed, compressedSpeed;
};

QString speedText(const QString& label, const DecodeSpeed& s)
{
    return QStringLiteral("<b>%1</b>: %2").arg(label, QString::fromStdString(describeSpeed(s)).toHtmlEscaped());
}

QString endText(const JobEnd& end)
{
    if (end.cancelled())
        return QObject::tr("Generation cancelled.");
    return "<span style='color:#c0392b'>" + QObject::tr("Generation failed: %1").arg(end.message.toHtmlEscaped()) + "</span>";
}

} // namespace

SamplesPanel::SamplesPanel(JobRunner* runner, QWidget* parent) : QWidget(parent), runner_(runner)
{
    prompt_ = new QLineEdit(QStringLiteral("Once upon a time"), this);
    generate_ = new QPushButton(tr("Generate"), this);
    generate_->setEnabled(false);
    denseText_ = new QPlainTextEdit(this);
    compressedText_ = new QPlainTextEdit(this);
    for (auto* t : {denseText_, compressedText_}) {
        t->setReadOnly(true);
        t->setMinimumHeight(90);
    }
    denseSpeed_ = new QLabel(tr("dense"), this);
    compressedSpeed_ = new QLabel(tr("compressed"), this);
    for (QLabel* l : {denseSpeed_, compressedSpeed_})
        l->setWordWrap(true); // median, spread, bytes and roofline: two lines beside each other
    auto* promptRow = new QHBoxLayout;
    promptRow->addWidget(new QLabel(tr("Prompt"), this));
    promptRow->addWidget(prompt_, 1);
    promptRow->addWidget(generate_);
    auto* sideBySide = new QGridLayout;
    sideBySide->addWidget(denseSpeed_, 0, 0);
    sideBySide->addWidget(compressedSpeed_, 0, 1);
    sideBySide->addWidget(denseText_, 1, 0);
    sideBySide->addWidget(compressedText_, 1, 1);
    auto* root = new QVBoxLayout(this);
    root->setContentsMargins(0, 0, 0, 0);
    root->addLayout(promptRow);
    root->addLayout(sideBySide);
    connect(generate_, &QPushButton::clicked, this, [this] { generate(); });
}

void SamplesPanel::setModels(std::shared_ptr<ModelSession> session, std::shared_ptr<AppliedPlan> applied)
{
    session_ = std::move(session);
    applied_ = std::move(applied);
    generate_->setEnabled(session_ && applied_);
}

void SamplesPanel::generate()
{
    if (!applied_ || !session_)
        return;
    auto session = session_;
    auto applied = applied_;
    const std::string prompt = prompt_->text().toStdString();
    generate_->setEnabled(false);
    // The texts stream into their boxes as the tokens come (queued to the UI
    // thread; the pointers go null if the view is gone).
    const auto streamTo = [](QPlainTextEdit* box) {
        QPointer<QPlainTextEdit> p(box);
        return [p](const std::string& text) {
            QMetaObject::invokeMethod(
                p, [p, t = QString::fromStdString(text)] { if (p) p->setPlainText(t); }, Qt::QueuedConnection);
        };
    };
    denseText_->clear();
    compressedText_->clear();
    denseSpeed_->setText(tr("<b>dense</b>: generating…"));
    compressedSpeed_->setText(tr("<b>compressed</b>: waiting"));
    runner_->submit<Samples>(
        tr("Generate: dense and compressed"),
        [session, applied, prompt, toDense = streamTo(denseText_), toCompressed = streamTo(compressedText_)](const ProgressFn& progress) {
            const auto part = [&progress](double from, double to) {
                return ProgressFn([&progress, from, to](const Progress& p) {
                    return !progress || progress(Progress{from + (to - from) * p.fraction, p.stage});
                });
            };
            GenerateOptions g;
            g.max_positions = 100;
            Samples s;
            g.on_text = toDense;
            s.dense = tailor::generate(session->model(), session->tokenizer(), prompt, g, part(0, 0.25));
            g.drop_blocks = applied->drop_blocks;
            g.on_text = toCompressed;
            s.compressed = tailor::generate(*applied->model, session->tokenizer(), prompt, g, part(0.25, 0.5));
            // speeds from repeated runs: medians after a warm-up, with the spread
            DecodeSpeedOptions so;
            so.prompt_tokens = std::min<int64_t>(64, session->summary().max_position_embeddings / 2);
            so.decode_tokens = std::min<int64_t>(32, session->summary().max_position_embeddings / 2);
            s.denseSpeed = measureDecodeSpeed(session->model(), so, part(0.5, 0.75));
            so.drop_blocks = applied->drop_blocks;
            so.source_dtypes = true; // as an HF export stores it, not the fp32 merges healing leaves
            s.compressedSpeed = measureDecodeSpeed(*applied->model, so, part(0.75, 1));
            return s;
        },
        this,
        [this](const Samples& s) {
            denseText_->setPlainText(QString::fromStdString(s.dense.text));
            compressedText_->setPlainText(QString::fromStdString(s.compressed.text));
            denseSpeed_->setText(speedText(tr("dense"), s.denseSpeed));
            compressedSpeed_->setText(speedText(tr("compressed"), s.compressedSpeed) +
                                      tr("; %1× the dense decode; weights in %2 as an HF export stores them")
                                          .arg(s.compressedSpeed.decode.median / std::max(1e-9, s.denseSpeed.decode.median), 0, 'f', 2)
                                          .arg(QString::fromStdString(session_->summary().dtype)));
            Q_EMIT samplesReady();
        },
        [this](const JobEnd& end) {
            generate_->setEnabled(session_ && applied_);
            if (!end.done())
                compressedSpeed_->setText(endText(end));
            Q_EMIT ended();
        });
}

} // namespace tailor::ui
