#include "report_writer.h"
#include "ui/plots/plot_view.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <cmath>

namespace tailor::ui {

namespace {
constexpr int kWidth = 900, kHeight = 420;

QString shortLayer(const std::string& name) // model.layers.4.mlp.up_proj.weight -> b4.up
{
    const QString n = QString::fromStdString(name);
    const QString block = n.section('.', 2, 2);
    QString kind = n.section('.', 4, 4).remove("_proj");
    return "b" + block + "." + kind;
}
} // namespace

QStringList writeReportFolder(const CompressionReport& r, const QString& dir, bool force)
{
    const QFileInfo target(dir);
    if (target.exists() && !force)
        throw Error(dir.toStdString() + ": already exists (use --force to replace it)");
    const QString parent = target.absolutePath();
    if (!QDir().mkpath(parent))
        throw Error(parent.toStdString() + ": cannot create the folder");
    QTemporaryDir tmp(parent + "/.tailor-report-XXXXXX");
    if (!tmp.isValid())
        throw Error(parent.toStdString() + ": cannot write here");
    QStringList files;
    std::map<std::string, std::string> charts;
    auto save = [&](PlotView& plot, const QString& file, const std::string& key) {
        plot.resize(kWidth, kHeight);
        if (!plot.saveImage(tmp.filePath(file), kWidth, kHeight))
            throw Error(tmp.filePath(file).toStdString() + ": cannot write the chart");
        charts[key] = file.toStdString();
        files << file;
    };

    {
        PlotView p;
        p.setTitle(QObject::tr("Evaluation PPL after each stage"));
        std::vector<double> v;
        QStringList labels;
        std::vector<BarStyle> styles;
        for (const auto& s : r.stages) {
            v.push_back(s.ppl > 0 ? s.ppl : std::nan(""));
            labels << QString::fromStdString(s.stage);
            styles.push_back(s.stage == "dense" ? BarStyle::Greyed : BarStyle::Normal);
        }
        if (std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); })) {
            p.setBars(v, labels, styles, r.stages.empty() ? std::nan("") : r.stages.front().ppl, QObject::tr("dense"));
            save(p, "stages.png", "stages");
        }
    }
    if (!r.block_influence.empty()) {
        PlotView p;
        p.setTitle(QObject::tr("Block influence of the dense model (red: dropped)"));
        QStringList labels;
        std::vector<BarStyle> styles;
        for (std::size_t i = 0; i < r.block_influence.size(); ++i) {
            labels << QString::number(i);
            const bool dropped = std::find(r.drop_blocks.begin(), r.drop_blocks.end(), int(i)) != r.drop_blocks.end();
            styles.push_back(dropped ? BarStyle::Marked : BarStyle::Normal);
        }
        p.setAxisLabels(QObject::tr("block"), QObject::tr("1 − cos(in, out)"));
        p.setBars(r.block_influence, labels, styles);
        save(p, "blocks.png", "blocks");
    }
    if (!r.layer_errors.empty()) {
        PlotView p;
        p.setTitle(QObject::tr("Relative output error per layer (blue: low rank, red: quantization)"));
        std::vector<double> v;
        QStringList labels;
        std::vector<BarStyle> styles;
        double lo = 1e300, hi = 0;
        for (const auto& e : r.layer_errors)
            if (e.output_rel_err > 0)
                lo = std::min(lo, e.output_rel_err), hi = std::max(hi, e.output_rel_err);
        p.setLogY(hi > 100 * lo); // quantization errors sit orders of magnitude below low-rank ones
        for (const auto& e : r.layer_errors) {
            v.push_back(e.output_rel_err);
            labels << (r.layer_errors.size() <= 40 ? shortLayer(e.name) : QString());
            styles.push_back(e.stage == "quant" ? BarStyle::Marked : BarStyle::Normal);
        }
        p.setBars(v, labels, styles);
        save(p, "layers.png", "layers");
    }
    if (!r.heal_curve.empty()) {
        PlotView p;
        p.setTitle(QObject::tr("Healing loss per step"));
        p.setAxisLabels(QObject::tr("step"), QObject::tr("loss"));
        std::vector<double> x, loss, ce, kd;
        bool distilled = false;
        for (const auto& h : r.heal_curve) {
            x.push_back(double(h.step));
            loss.push_back(h.loss);
            ce.push_back(h.ce);
            kd.push_back(h.kd);
            distilled = distilled || h.kd != 0;
        }
        if (distilled)
            p.setCurves({x, x, x}, {loss, ce, kd}, {QObject::tr("loss"), QObject::tr("next-token"), QObject::tr("distillation")});
        else
            p.setCurves({x}, {loss}, {QObject::tr("loss")});
        save(p, "heal.png", "heal");
    }
    writeFileAtomically(tmp.filePath("report.json").toStdString(), QJsonDocument(r.toJson()).toJson());
    writeFileAtomically(tmp.filePath("report.md").toStdString(), QByteArray::fromStdString(r.toMarkdown(charts)));
    files << "report.json" << "report.md";

    const QString old = target.absoluteFilePath() + ".tailor-old";
    if (target.exists() && !QDir().rename(target.absoluteFilePath(), old))
        throw Error(dir.toStdString() + ": cannot replace the existing folder");
    if (!QDir().rename(tmp.path(), target.absoluteFilePath())) {
        QDir().rename(old, target.absoluteFilePath());
        throw Error(dir.toStdString() + ": cannot move the report into place");
    }
    tmp.setAutoRemove(false);
    QDir(old).removeRecursively();
    return files;
}

} // namespace tailor::ui
