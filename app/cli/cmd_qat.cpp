// tailor-cli qat MODEL --text FILE [--bits 4 --group 32|channel|tensor (--sym|--asym) | --scheme NAME] [--quant-noise P]
//                --steps N [--lr LR] [--batch B] [--seq-len L] [--layers REGEX] [--kd-weight W [--kd-temperature T]]
//                [--eval FILE] [--out DIR [--type T] [--force]] [--json]
// Quantization-aware fine-tuning (fake quant + STE, or Quant-Noise with P < 1) on a text; reports the
// evaluation PPL of the dense model, of round-to-nearest on the original weights and on the trained
// weights, and the loss curve. --out writes the trained full-precision weights (they quantize better).
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "scheme_args.h"
#include "core/export/hf_export.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "core/quant/qat.h"
#include "core/quant/quant_report.h"

#include <QJsonArray>
#include <cctype>
#include <cstdio>

namespace tailor::cli {

int cmdQat(const Argv& argv)
{
    const Args args(argv, commandSpec("qat"));
    const auto session = ModelSession::open(args.positional(0, "MODEL"));
    QatOptions o;
    o.scheme = schemeFromArgs(args);
    o.quant_noise = args.getDouble("quant-noise", 1.0);
    o.steps = args.getInt("steps", 200);
    o.lr = args.getDouble("lr", o.lr);
    o.micro_batch = args.getInt("batch", o.micro_batch);
    o.seq_len = args.getInt("seq-len", o.seq_len);
    o.warmup_steps = args.getInt("warmup", o.warmup_steps);
    o.seed = uint64_t(args.getInt("seed", 0));
    o.layers_regex = args.get("layers");
    o.kd_weight = args.getDouble("kd-weight", 0);
    o.temperature = args.getDouble("kd-temperature", 1);
    o.validate();
    const std::string textPath = args.require("text");
    const TokenWindows train = cutWindows(session->tokenizeFile(textPath), o.seq_len, 0, textPath);
    const std::string evalPath = args.get("eval", textPath);
    const auto evalIds = session->tokenizeFile(evalPath);
    const auto progress = progressPrinter(false);
    EvalOptions ev;
    ev.seq_len = 256;
    QuantOptions rtn;
    rtn.scheme = o.scheme;
    rtn.layers_regex = o.layers_regex;
    const double dense = evaluatePerplexity(session->model(), evalIds, ev).ppl;
    const double before = evaluatePerplexity(*quantizeModel(session->model(), nullptr, rtn).model, evalIds, ev).ppl;
    const QatResult r = quantAwareTrain(session->model(), train, o, progress);
    const double after = evaluatePerplexity(*r.quantized, evalIds, ev).ppl;
    const double trainedFp = evaluatePerplexity(*r.trained, evalIds, ev).ppl;
    if (args.has("out")) {
        HfExportOptions eo;
        std::string type = args.get("type", "f32");
        for (auto& ch : type)
            ch = char(std::toupper(static_cast<unsigned char>(ch)));
        eo.dtype = type;
        eo.force = args.flag("force");
        eo.model_card = "Quantization-aware fine-tuning for " + o.scheme.name() + " (Quant-Noise share " +
                        std::to_string(o.quant_noise) + ", " + std::to_string(r.steps_done) + " steps on " + textPath + ").\n";
        exportHf(*r.trained, {}, args.get("out"), eo, progress);
    }
    QJsonArray curve;
    for (const auto& s : r.curve)
        curve.append(QJsonObject{{"step", double(s.step)}, {"loss", s.loss}, {"ce", s.ce}, {"kd", s.kd}, {"lr", s.lr}});
    const QJsonObject out{{"scheme", QString::fromStdString(o.scheme.name())},
                          {"quant_noise", o.quant_noise},
                          {"steps", double(r.steps_done)},
                          {"cancelled", r.cancelled},
                          {"trainable_parameters", double(r.trainable_parameters)},
                          {"seconds", r.seconds},
                          {"eval_text", QString::fromStdString(evalPath)},
                          {"dense_ppl", dense},
                          {"rtn_ppl", before},
                          {"qat_ppl", after},
                          {"trained_fp_ppl", trainedFp},
                          {"curve", curve}};
    if (args.flag("json")) {
        printJson(out);
        return 0;
    }
    std::printf("%s, %s, %lld steps (%.1f s): loss %.4f -> %.4f\n", o.scheme.name().c_str(),
                o.quant_noise < 1 ? ("Quant-Noise p=" + std::to_string(o.quant_noise)).c_str() : "QAT (STE)", (long long)r.steps_done,
                r.seconds, r.curve.front().loss, r.curve.back().loss);
    std::printf("evaluation PPL (L=256): dense %.4f; round-to-nearest %.4f before, %.4f after training (trained weights unquantized %.4f)\n",
                dense, before, after, trainedFp);
    return 0;
}

} // namespace tailor::cli
