#include "compression_report.h"
#include "core/compress/markdown_number.h"
#include "core/analysis/block_importance.h"
#include "core/decode/generate.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/result_json.h"

#include <QDirIterator>
#include <QFileInfo>
#include <QJsonArray>
#include <cmath>
#include <sstream>

namespace tailor {

namespace {
GenerationSample sample(const Model& m, const ModelSession& s, const std::string& prompt, int positions, const std::vector<int>& drop)
{
    GenerateOptions g;
    g.max_positions = positions;
    g.drop_blocks = drop;
    GenerationSample out;
    out.text = generate(m, s.tokenizer(), prompt, g).text;
    // speeds from repeated runs (medians after a warm-up), not from this one text
    DecodeSpeedOptions so;
    so.drop_blocks = drop;
    so.prompt_tokens = std::min<int64_t>(64, m.config().max_position_embeddings / 2);
    so.decode_tokens = std::min<int64_t>(32, m.config().max_position_embeddings / 2);
    so.source_dtypes = true; // the dense model has no replacements; a healed one is timed as exported
    out.speed = measureDecodeSpeed(m, so);
    out.prefill_tokens_per_s = out.speed.prefill.median;
    out.decode_tokens_per_s = out.speed.decode.median;
    return out;
}

} // namespace

uint64_t pathBytes(const std::string& path)
{
    const QFileInfo fi(QString::fromStdString(path));
    if (fi.isFile())
        return uint64_t(fi.size());
    uint64_t n = 0;
    QDirIterator it(fi.absoluteFilePath(), QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        if (it.fileName().endsWith(".safetensors"))
            n += uint64_t(it.fileInfo().size());
    }
    return n;
}

CompressionReport buildReport(const ModelSession& session, const CompressionPlan& plan, const AppliedPlan& applied,
                              const ReportOptions& opt, const ProgressFn& progress)
{
    CompressionReport r;
    r.model_dir = session.dir();
    r.plan = plan.toJson();
    r.stages = applied.stages;
    r.drop_blocks = applied.drop_blocks;
    r.ranks = plan.ranks;
    r.quant_scheme = !plan.quant ? std::string() : plan.quant->rules.empty() ? plan.quant->scheme.name() : "mixed (" + std::to_string(plan.quant->rules.size()) + " rules)";
    r.quant_bits_per_weight = applied.quant_bits_per_weight;
    r.parameters_dense = applied.stages.empty() ? 0 : applied.stages.front().parameters;
    r.parameters_compressed = applied.stages.empty() ? 0 : applied.stages.back().parameters;
    r.bytes_dense = session.summary().file_bytes;
    r.layer_errors = applied.layer_errors;
    r.heal_curve = applied.heal_curve;
    r.heal_cancelled = applied.heal_cancelled;
    r.warnings = applied.warnings;
    r.depth_width = opt.depth_width;
    r.prompt = opt.prompt;
    const Model& dense = session.model();
    if (!opt.calib_text.empty()) {
        reportProgress(progress, 0.0, "block influence of the dense model");
        BlockScanOptions so;
        enableCriteria(so, {Criterion::Bi});
        const auto scan = scanBlocks(dense, session.calibration(opt.calib_text), so);
        for (const auto& b : scan.blocks)
            r.block_influence.push_back(b.bi);
    }
    reportProgress(progress, 0.3, "generation speed: dense model");
    r.dense = sample(dense, session, opt.prompt, opt.max_positions, {});
    reportProgress(progress, 0.65, "generation speed: compressed model");
    r.compressed = sample(*applied.model, session, opt.prompt, opt.max_positions, applied.drop_blocks);
    reportProgress(progress, 1.0, "report ready");
    return r;
}

QJsonObject CompressionReport::toJson() const
{
    QJsonArray stagesJ, dropJ, biJ, errJ, curveJ, warnJ;
    for (const auto& s : stages)
        stagesJ.append(stageReportJson(s));
    for (int b : drop_blocks)
        dropJ.append(b);
    for (double v : block_influence)
        biJ.append(jsonNumber(v));
    for (const auto& e : layer_errors)
        errJ.append(QJsonObject{{"stage", QString::fromStdString(e.stage)}, {"name", QString::fromStdString(e.name)},
                                {"output_rel_err", jsonNumber(e.output_rel_err)}});
    for (const auto& h : heal_curve)
        curveJ.append(QJsonObject{{"step", double(h.step)}, {"loss", h.loss}, {"ce", h.ce}, {"kd", h.kd}, {"lr", h.lr}});
    for (const auto& w : warnings)
        warnJ.append(QString::fromStdString(w));
    QJsonObject ranksJ;
    for (const auto& [n, k] : ranks)
        ranksJ[QString::fromStdString(n)] = double(k);
    auto speed = [](const GenerationSample& g) {
        return QJsonObject{{"prefill_tokens_per_s", g.prefill_tokens_per_s}, {"decode_tokens_per_s", g.decode_tokens_per_s},
                           {"decode_tokens_per_s_min", g.speed.decode.min}, {"decode_tokens_per_s_max", g.speed.decode.max},
                           {"prefill_tokens_per_s_min", g.speed.prefill.min}, {"prefill_tokens_per_s_max", g.speed.prefill.max},
                           {"speed_runs", g.speed.decode.runs}, {"weight_bytes_per_token", double(g.speed.weight_bytes_per_token)},
                           {"kv_bytes_per_token", double(g.speed.kv_bytes_per_token)},
                           {"read_bandwidth_bytes_per_s", g.speed.read_bandwidth},
                           {"roofline_tokens_per_s", g.speed.roofline_tokens_per_s}, {"threads", g.speed.threads},
                           {"text", QString::fromStdString(g.text)}};
    };
    return QJsonObject{{"model", QString::fromStdString(model_dir)},
                       {"output", QString::fromStdString(output)},
                       {"format", QString::fromStdString(format)},
                       {"type", QString::fromStdString(type)},
                       {"plan", plan},
                       {"stages", stagesJ},
                       {"drop_blocks", dropJ},
                       {"ranks", ranksJ},
                       {"quant_scheme", QString::fromStdString(quant_scheme)},
                       {"quant_bits_per_weight", jsonNumber(quant_scheme.empty() ? NAN : quant_bits_per_weight)},
                       {"parameters_dense", double(parameters_dense)},
                       {"parameters_compressed", double(parameters_compressed)},
                       {"bytes_dense", double(bytes_dense)},
                       {"bytes_output", double(bytes_output)},
                       {"file_bits_per_parameter", jsonNumber(bytes_output && parameters_compressed ? 8.0 * double(bytes_output) / double(parameters_compressed) : NAN)},
                       {"block_influence", biJ},
                       {"layer_errors", errJ},
                       {"heal_curve", curveJ},
                       {"heal_cancelled", heal_cancelled},
                       {"prompt", QString::fromStdString(prompt)},
                       {"dense", speed(dense)},
                       {"compressed", speed(compressed)},
                       {"warnings", warnJ},
                       {"depth_vs_width", depth_width ? depth_width->toJson() : QJsonValue()}};
}

std::string CompressionReport::toMarkdown(const std::map<std::string, std::string>& charts) const
{
    std::ostringstream md;
    auto chart = [&](const std::string& key, const std::string& caption) {
        const auto it = charts.find(key);
        if (it != charts.end())
            md << "\n![" << caption << "](" << it->second << ")\n";
    };
    md << "# Compression report\n\n";
    md << "- model: `" << model_dir << "`\n";
    if (!output.empty())
        md << "- output: `" << output << "` (" << format << ", " << type << ")\n";
    md << "- blocks dropped: ";
    if (drop_blocks.empty())
        md << "none";
    for (std::size_t i = 0; i < drop_blocks.size(); ++i)
        md << (i ? ", " : "") << drop_blocks[i];
    md << "\n- low-rank layers: " << ranks.size() << "\n";
    md << "- quantization: " << (quant_scheme.empty() ? "none" : quant_scheme + " (" + markdownNumber(quant_bits_per_weight, 2) + " bits per weight)") << "\n";
    if (!heal_curve.empty())
        md << "- healing: " << heal_curve.size() << " LoRA steps" << (heal_cancelled ? " (cancelled)" : "") << ", loss "
           << markdownNumber(heal_curve.front().loss, 4) << " → " << markdownNumber(heal_curve.back().loss, 4) << "\n";
    const bool tasks = !stages.empty() && std::isfinite(stages.front().task_acc);
    md << "\n## Before and after\n\n| stage | PPL | KLD from dense (mean / p99, nats) | top-1 agreement |"
       << (tasks ? " task acc (± s.e.) | acc_norm |" : "") << " parameters | size (16-bit, quantized layers at their bits) |\n"
       << "| --- | ---: | ---: | ---: |" << (tasks ? " ---: | ---: |" : "") << " ---: | ---: |\n";
    for (const auto& s : stages) {
        md << "| " << s.stage << " | " << markdownNumber(s.ppl, 4) << " | " << markdownNumber(s.kld_mean, 4) << " / " << markdownNumber(s.kld_p99, 3) << " | "
           << markdownNumber(100 * s.top1_agreement, 2) << " % | ";
        if (tasks)
            md << markdownNumber(s.task_acc, 3) << " ± " << markdownNumber(s.task_acc_stderr, 3) << " | " << markdownNumber(s.task_acc_norm, 3) << " | ";
        md << s.parameters << " | " << markdownNumber(s.size_bytes / 1e6, 2) << " MB |\n";
    }
    md << "\n| | dense | compressed |\n| --- | ---: | ---: |\n";
    md << "| parameters | " << parameters_dense << " | " << parameters_compressed << " |\n";
    md << "| size on disk | " << markdownNumber(double(bytes_dense) / 1e6, 2) << " MB | "
       << (bytes_output ? markdownNumber(double(bytes_output) / 1e6, 2) + " MB" : std::string("–")) << " |\n";
    md << "| bits per parameter (file) | " << markdownNumber(parameters_dense ? 8.0 * double(bytes_dense) / double(parameters_dense) : NAN, 2) << " | "
       << markdownNumber(bytes_output && parameters_compressed ? 8.0 * double(bytes_output) / double(parameters_compressed) : NAN, 2) << " |\n";
    const auto range = [](const SpeedStats& v) { return markdownNumber(v.median, 1) + " (" + markdownNumber(v.min, 1) + "–" + markdownNumber(v.max, 1) + ")"; };
    md << "| prefill tokens/s (median, min–max of " << dense.speed.prefill.runs << " runs) | " << range(dense.speed.prefill) << " | "
       << range(compressed.speed.prefill) << " |\n";
    md << "| decode tokens/s (batch 1, KV cache) | " << range(dense.speed.decode) << " | " << range(compressed.speed.decode) << " |\n";
    md << "| weights read per token | " << markdownNumber(double(dense.speed.weight_bytes_per_token) / 1e6, 1) << " MB | "
       << markdownNumber(double(compressed.speed.weight_bytes_per_token) / 1e6, 1) << " MB |\n";
    md << "| KV cache read per token (mean decoded position) | " << markdownNumber(double(dense.speed.kv_bytes_per_token) / 1e6, 2) << " MB | "
       << markdownNumber(double(compressed.speed.kv_bytes_per_token) / 1e6, 2) << " MB |\n";
    md << "| roofline (read bandwidth " << markdownNumber(dense.speed.read_bandwidth / 1e9, 1) << " GB/s ÷ bytes per token) | "
       << markdownNumber(dense.speed.roofline_tokens_per_s, 1) << " | " << markdownNumber(compressed.speed.roofline_tokens_per_s, 1) << " |\n";
    chart("stages", "PPL after each stage");
    if (!block_influence.empty()) {
        md << "\n## Block importance (Block Influence of the dense model; dropped blocks in red)\n";
        chart("blocks", "block influence");
    }
    if (!layer_errors.empty()) {
        md << "\n## Per-layer output error ‖WX − ŴX‖/‖WX‖ on calibration inputs\n";
        chart("layers", "per-layer output error");
    }
    if (!heal_curve.empty()) {
        md << "\n## Healing loss\n";
        chart("heal", "healing loss per step");
    }
    if (depth_width)
        md << "\n## Depth against width at " << markdownNumber(100 * depth_width->budget, 0) << " % of the block parameters\n\n"
           << depth_width->toMarkdown();
    md << "\n## Greedy continuation of \"" << prompt << "\"\n\n**dense:** " << dense.text << "\n\n**compressed:** " << compressed.text << "\n";
    if (!warnings.empty()) {
        md << "\n## Warnings\n\n";
        for (const auto& w : warnings)
            md << "- " << w << "\n";
    }
    return md.str();
}

} // namespace tailor
