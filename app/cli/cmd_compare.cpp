// tailor-cli compare BASE FILE... --text T [--seq-len L] [--max-windows N] [--json]
// Several model files (GGUF quantizations of one model, from anyone) against
// one base on the user's own text: a table sorted by size. Each row is what
// `tailor-cli eval FILE --base BASE` gives for that file.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "command_table.h"
#include "core/eval/file_comparison.h"
#include "core/model/model_session.h"

#include <QFileInfo>
#include <QJsonArray>
#include <cstdio>

namespace tailor::cli {

int cmdCompare(const Argv& argv)
{
    const Args args(argv, commandSpec("compare"));
    const std::string basePath = args.positional(0, "BASE");
    std::vector<std::string> files(args.positional().begin() + 1, args.positional().end());
    if (files.empty())
        throw UsageError("compare needs the base and at least one FILE to measure against it");
    const std::string text = args.require("text");
    FileComparisonOptions opt;
    opt.seq_len = args.getInt("seq-len", 256);
    opt.max_windows = args.getInt("max-windows", 0);
    opt.batch_tokens = args.getInt("batch-tokens", opt.batch_tokens);
    opt.text_label = text;
    opt.int8_products = args.flag("int8");
    const auto base = ModelSession::open(basePath);
    const std::vector<ComparedFile> rows = compareFiles(*base, files, text, opt, progressPrinter(false));
    if (args.flag("json")) {
        QJsonArray a;
        for (const ComparedFile& f : rows) {
            const FidelityResult& r = f.fidelity;
            a.append(QJsonObject{{"path", QString::fromStdString(f.path)}, {"file_bytes", double(f.file_bytes)},
                                 {"weight_bytes", double(f.weight_bytes)}, {"parameters", double(f.parameters)}, {"bpw", f.bpw},
                                 {"main_type", QString::fromStdString(f.main_type)}, {"ppl", r.ppl}, {"kld_mean", r.kld_mean},
                                 {"kld_median", r.kld_median}, {"kld_p99", r.kld_p99}, {"kld_max", r.kld_max},
                                 {"top1_agreement", r.top1_agreement}, {"kld_positions", double(r.positions)}});
        }
        printJson(QJsonObject{{"base", QString::fromStdString(basePath)}, {"text", QString::fromStdString(text)},
                              {"base_ppl", rows.front().fidelity.base_ppl}, {"files", a}});
        return 0;
    }
    std::printf("base %s: ppl %.4f on %s (%lld predicted tokens)\n", basePath.c_str(), rows.front().fidelity.base_ppl, text.c_str(),
                (long long)rows.front().fidelity.positions);
    std::printf("%-32s %10s %6s %-6s %10s %10s %10s %10s %7s\n", "file", "size MiB", "bpw", "type", "ppl", "KLD mean", "KLD p99",
                "KLD max", "top-1 %");
    for (const ComparedFile& f : rows) {
        const FidelityResult& r = f.fidelity;
        std::printf("%-32s %10.2f %6.2f %-6s %10.4f %10.6f %10.6f %10.6f %7.2f\n",
                    QFileInfo(QString::fromStdString(f.path)).fileName().toStdString().c_str(), double(f.file_bytes) / 1048576.0, f.bpw,
                    f.main_type.c_str(), r.ppl, r.kld_mean, r.kld_p99, r.kld_max, 100 * r.top1_agreement);
    }
    return 0;
}

} // namespace tailor::cli
