#include "spectrum_cache.h"
#include "core/model/model_session.h"
#include "core/util/result_cache.h"

#include <QDateTime>
#include <QFileInfo>
#include <QJsonArray>
#include <cmath>

namespace tailor {

namespace {
QJsonObject keyFor(const ModelSession& s, const std::string& layer, const SpectrumOptions& opt)
{
    const QFileInfo dir(QString::fromStdString(s.dir()));
    return QJsonObject{{"model", dir.absoluteFilePath()},
                       {"bytes", double(s.summary().file_bytes)},
                       {"modified", dir.lastModified().toMSecsSinceEpoch() / 1000.0},
                       {"layer", QString::fromStdString(layer)},
                       {"top_k", double(opt.top_k)},
                       {"oversample", double(opt.oversample)},
                       {"power_iterations", opt.power_iterations},
                       {"seed", double(opt.seed)}};
}

QJsonObject toJson(const LayerSpectrum& s)
{
    QJsonArray sv;
    for (double v : s.singular_values)
        sv.append(v);
    return QJsonObject{{"rows", double(s.rows)},         {"cols", double(s.cols)},     {"singular_values", sv},
                       {"total_energy", s.total_energy}, {"randomized", s.randomized}, {"residual", s.residual}};
}

std::optional<LayerSpectrum> fromJson(const std::string& name, const QJsonObject& o)
{
    const QJsonArray a = o.value("singular_values").toArray();
    if (a.isEmpty() || !o.value("rows").isDouble() || !o.value("cols").isDouble())
        return std::nullopt; // an unreadable entry is recomputed
    std::vector<double> sv;
    for (const auto& v : a)
        sv.push_back(v.toDouble());
    LayerSpectrum s = computeSpectrum(name, sv, int64_t(o.value("rows").toDouble()), int64_t(o.value("cols").toDouble()),
                                      o.value("total_energy").toDouble());
    s.residual = o.value("residual").toDouble(); // `randomized` follows from the count of values
    return s;
}
} // namespace

std::vector<LayerSpectrum> cachedSpectra(const ModelSession& session, const std::vector<std::string>& layers,
                                         const ProgressFn& progress, const SpectrumOptions& opt)
{
    std::vector<LayerSpectrum> out(layers.size());
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const auto hit = ResultCache::load("spectra", keyFor(session, layers[i], opt));
        const auto s = hit ? fromJson(layers[i], *hit) : std::nullopt;
        if (s)
            out[i] = *s;
        else
            missing.push_back(i);
    }
    const double done = double(layers.size() - missing.size()) / double(std::max<std::size_t>(1, layers.size()));
    for (std::size_t j = 0; j < missing.size(); ++j) {
        const std::size_t i = missing[j];
        // one layer at a time, stored at once: a cancelled run keeps what it finished
        const auto frac = [&](double f) { return done + (1.0 - done) * (double(j) + f) / double(missing.size()); };
        ProgressFn inner;
        if (progress)
            inner = [&](const Progress& p) { return progress(Progress{frac(p.fraction), p.stage}); };
        out[i] = computeSpectra(session.model(), {layers[i]}, inner, opt).at(0);
        ResultCache::store("spectra", keyFor(session, layers[i], opt), toJson(out[i]));
    }
    reportProgress(progress, 1.0, "spectra ready");
    return out;
}

} // namespace tailor
