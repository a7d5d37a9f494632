#include "budget_search.h"
#include "bit_allocation.h"
#include "core/quant/linear_quantizer.h"
#include "core/quant/quant_scheme.h"
#include "core/util/byte_size.h"
#include "core/util/error.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "core/analysis/imatrix.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>

namespace tailor {

std::vector<std::string> defaultBudgetSchemes(BudgetTarget target)
{
    // llama.cpp's block types (a shape decides which apply: the K types need rows of 256)
    std::vector<std::string> s{"q8_0", "q6_k", "q5_k", "q5_1", "q5_0", "q4_k", "q4_1", "iq4_nl", "q4_0", "iq4_xs", "q3_k", "iq3_s", "q2_k"};
    if (target == BudgetTarget::LinearBitsPerWeight) // Tailor's linear schemes fill the range below 4.5 bits
        s.insert(s.end(), {"int8_sym_channel", "int6_asym_g64", "int5_asym_g32", "int4_asym_g32", "int4_sym_g32", "int4_asym_g64",
                           "int4_asym_g128", "int3_asym_g32", "int3_sym_g32", "int3_asym_g64", "int3_asym_g128", "int2_asym_g16",
                           "int2_asym_g32", "int2_asym_g64"});
    return s;
}

namespace {
std::vector<float> importanceOf(const Imatrix* im, TensorRole role, int block)
{
    return im ? im->weights(ggufTensorName(role, block)) : std::vector<float>{};
}

} // namespace

double schemeBytes(const QuantScheme& s, int64_t rows, int64_t cols, BudgetTarget t)
{
    if (t == BudgetTarget::GgufFileBytes) { // as the tensor lies in the file: aligned
        const uint64_t b = uint64_t(gguf::rowBytes(s.ggml, cols) * rows), a = gguf::kDefaultAlignment;
        return double((b + a - 1) / a * a);
    }
    return s.bitsPerWeight(cols) * double(rows * cols) / 8.0;
}

namespace {

// The base model's hidden state entering every block and its next-token
// log-probabilities on the calibration windows, so a probe reruns only the
// blocks from the changed layer on.
struct BaseRun {
    at::Tensor ids;
    RopeTable rope;
    std::vector<at::Tensor> inputs; // per block, [n, L, H]
    std::vector<LinearInputs> linear;
    at::Tensor logp; // [positions, V] double
    double ppl = 0;
};

at::Tensor logProbs(const Model& m, const at::Tensor& h)
{
    const int64_t L = h.size(1), H = h.size(2);
    const at::Tensor hn = rmsNorm(h, m.finalNorm(), m.config().rms_norm_eps).narrow(1, 0, L - 1).reshape({-1, H});
    return at::log_softmax(at::linear(hn, m.lmHead()).to(at::kDouble), -1);
}

double meanKld(const at::Tensor& base, const at::Tensor& model)
{
    return (base.exp() * (base - model)).sum(-1).mean().item<double>();
}

// The candidate schemes, parsed and checked against the target.
std::vector<QuantScheme> candidateSchemes(const BudgetOptions& opt)
{
    const std::vector<std::string> names = opt.schemes.empty() ? defaultBudgetSchemes(opt.target) : opt.schemes;
    std::vector<QuantScheme> schemes;
    for (const auto& n : names) {
        QuantScheme s = QuantScheme::parse(n);
        s.validate();
        if (opt.target == BudgetTarget::GgufFileBytes && s.format != QuantFormat::Ggml)
            throw Error("scheme '" + n + "': a GGUF file holds llama.cpp's types only (q8_0, q4_k, ...)");
        schemes.push_back(s);
    }
    if (schemes.empty())
        throw Error("no candidate schemes");
    return schemes;
}


// Every linear layer's candidates with their bytes (no damage yet): the
// achievable range is known before any probe.
std::vector<AllocationTensor> candidateBytes(const Model& model, const std::vector<QuantScheme>& schemes, BudgetTarget target)
{
    std::vector<AllocationTensor> out;
    for (int b = 0; b < model.nBlocks(); ++b)
        for (TensorRole role : linearRoles()) {
            const std::string name = hfTensorName(role, b);
            const at::Tensor raw = model.raw(name); // held: sizes() points into it
            const at::IntArrayRef shape = raw.sizes();
            AllocationTensor t{name, {}};
            for (const QuantScheme& s : schemes)
                if (schemeFits(s, shape[1]))
                    t.options.push_back({s.name(), schemeBytes(s, shape[0], shape[1], target), 0.0});
            if (t.options.empty())
                throw Error("tensor '" + name + "' (" + std::to_string(shape[1]) + " columns) fits none of the candidate types");
            out.push_back(std::move(t));
        }
    return out;
}

std::string fmt(const char* f, double v)
{
    char s[64];
    std::snprintf(s, sizeof s, f, v);
    return s;
}
} // namespace

std::vector<TensorSensitivity> measureSensitivity(const Model& model, const TokenWindows& calib, const BudgetOptions& opt,
                                                  const ProgressFn& progress, double* baseCalibPpl)
{
    at::NoGradGuard guard;
    const ModelConfig& cfg = model.config();
    const std::vector<QuantScheme> schemes = candidateSchemes(opt);
    if (calib.count == 0)
        throw Error("budgeted quantization needs calibration windows");

    BaseRun base;
    const int N = model.nBlocks();
    base.ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong).clone();
    base.rope = makeRope(cfg, calib.seq_len);
    at::Tensor h = model.embed(base.ids);
    base.linear.resize(std::size_t(N));
    for (int b = 0; b < N; ++b) {
        base.inputs.push_back(h);
        h = blockForward(model.block(b), cfg, h, base.rope, &base.linear[std::size_t(b)]);
        reportProgress(progress, 0.02 * (b + 1) / N, "base model on the calibration windows: block " + std::to_string(b));
    }
    base.logp = logProbs(model, h);
    const at::Tensor tgt = base.ids.narrow(1, 1, calib.seq_len - 1).reshape({-1, 1});
    base.ppl = std::exp(-base.logp.gather(-1, tgt).mean().item<double>());
    if (baseCalibPpl)
        *baseCalibPpl = base.ppl;

    const bool every = opt.probe == BudgetOptions::Probe::Every;
    const double targetBits = opt.target == BudgetTarget::LinearBitsPerWeight ? opt.value : 4.5;

    std::vector<TensorSensitivity> out;
    const int perBlock = int(linearRoles().size());
    for (int b = 0; b < N; ++b) {
        const BlockWeights weights = model.block(b);
        for (std::size_t r = 0; r < linearRoles().size(); ++r) {
            const TensorRole role = linearRoles()[r];
            TensorSensitivity t;
            t.name = hfTensorName(role, b);
            t.gguf_name = ggufTensorName(role, b);
            t.kind = roleInfo(role).kind;
            t.block = b;
            const at::Tensor raw = model.raw(t.name);
            t.params = raw.numel();
            const int64_t rows = raw.size(0), cols = raw.size(1);
            const at::Tensor w = raw.to(at::kFloat);
            const at::Tensor& x = base.linear[std::size_t(b)].forRole(role);
            const std::vector<float> importance = importanceOf(opt.imatrix, role, b);
            std::vector<at::Tensor> deqs;
            for (const QuantScheme& s : schemes) {
                if (!schemeFits(s, cols))
                    continue; // see candidateBytes
                const at::Tensor deq = fakeQuantizeWeighted(raw, s, importance);
                t.schemes.push_back({s, schemeBytes(s, rows, cols, opt.target), outputError(x, w, deq), 0.0, false});
                deqs.push_back(deq);
            }
            if (t.schemes.empty())
                throw Error("tensor '" + t.name + "' (" + std::to_string(cols) + " columns) fits none of the candidate types");
            auto probe = [&](std::size_t k) {
                BlockWeights changed = weights;
                *changed.slot(role) = deqs[k];
                at::Tensor hp = blockForward(changed, cfg, base.inputs[std::size_t(b)], base.rope);
                hp = runBlocks(model, hp, b + 1, N, base.rope);
                t.schemes[k].kld = std::max(0.0, meanKld(base.logp, logProbs(model, hp)));
                t.schemes[k].measured = true;
            };
            if (every) {
                for (std::size_t k = 0; k < t.schemes.size(); ++k)
                    probe(k);
            } else { // the scheme nearest the target bits, the others scaled by their squared output error
                std::size_t ref = 0;
                for (std::size_t k = 0; k < t.schemes.size(); ++k)
                    if (std::abs(t.schemes[k].bytes * 8 / double(t.params) - targetBits) <
                        std::abs(t.schemes[ref].bytes * 8 / double(t.params) - targetBits))
                        ref = k;
                probe(ref);
                const double e0 = std::max(1e-30, t.schemes[ref].output_rel_err);
                for (std::size_t k = 0; k < t.schemes.size(); ++k)
                    if (k != ref)
                        t.schemes[k].kld = t.schemes[ref].kld * std::pow(t.schemes[k].output_rel_err / e0, 2);
            }
            out.push_back(std::move(t));
            reportProgress(progress, 0.02 + 0.98 * double(b * perBlock + int(r) + 1) / double(N * perBlock),
                           "KLD sensitivity: " + out.back().name);
        }
    }
    return out;
}

std::shared_ptr<Model> quantizedByScheme(const Model& model, const SchemeByTensor& scheme,
                                         const Imatrix* imatrix)
{
    std::shared_ptr<Model> out = model.derive();
    for (int b = 0; b < model.nBlocks(); ++b)
        for (TensorRole role : linearRoles()) {
            const std::string name = hfTensorName(role, b);
            const auto it = scheme.find(name);
            if (it == scheme.end())
                continue;
            const QuantScheme s = it->second;
            std::vector<float> importance = importanceOf(imatrix, role, b);
            if (s.format == QuantFormat::Ggml && !gguf::typeInfo(s.ggml).takesImatrix)
                importance.clear();
            out->replaceLazily(name, [s, importance](const at::Tensor& w) { return fakeQuantizeWeighted(w, s, importance); });
            if (s.format == QuantFormat::Ggml)
                out->setGgmlPacking(name, {s.ggml, importance, model.raw(name)});
        }
    return out;
}

std::vector<std::string> ggufTensorTypes(const Model& model, const SchemeByTensor& scheme, const std::vector<int>& dropBlocks)
{
    std::vector<std::string> out;
    int written = 0; // the block's number in the file
    for (int b = 0; b < model.nBlocks(); ++b) {
        if (std::find(dropBlocks.begin(), dropBlocks.end(), b) != dropBlocks.end())
            continue;
        for (TensorRole role : linearRoles()) {
            const auto it = scheme.find(hfTensorName(role, b));
            if (it == scheme.end())
                continue;
            const std::string escaped = std::regex_replace(ggufTensorName(role, written), std::regex("\\."), "\\.");
            out.push_back("^" + escaped + "$=" + it->second.name());
        }
        ++written;
    }
    return out;
}

bool isFileBudget(const std::string& text)
{
    if (parseByteSize(text) >= 0)
        return true;
    try {
        gguf::mixture(text); // (names are matched as llama-quantize matches them: any case, aliases)
        return true;
    } catch (const Error&) {
        return false;
    }
}

uint64_t fileBudgetBytes(const Model& model, const std::string& text, const Imatrix* imatrix, std::string* sizeOf)
{
    if (!isFileBudget(text))
        throw Error("'" + text + "': a size in bytes (3500000, 3.5M, 1.2G) or a GGUF type (q4_k_m)");
    const double bytes = parseByteSize(text);
    if (bytes >= 0)
        return uint64_t(bytes);
    GgufExportOptions go;
    go.type = gguf::mixture(text).name;
    go.imatrix = imatrix;
    if (sizeOf)
        *sizeOf = go.type;
    return ggufFileSize(model, {}, go);
}

GgufExportOptions schemeExportOptions(const Model& model, const SchemeByTensor& scheme, const BudgetOptions& opt,
                                      const std::vector<int>& dropBlocks)
{
    GgufExportOptions go;
    go.type = opt.base_type;
    go.imatrix = opt.imatrix;
    for (const auto& spec : ggufTensorTypes(model, scheme, dropBlocks))
        go.overrides.push_back(gguf::parseTypeOverride(spec));
    return go;
}

double fixedFileBytes(const Model& model, const SchemeByTensor& scheme, double schemeBytes, const BudgetOptions& opt,
                      const std::vector<int>& dropBlocks, std::vector<std::string>* warnings)
{
    return double(ggufFileSize(model, dropBlocks, schemeExportOptions(model, scheme, opt, dropBlocks), warnings)) - schemeBytes;
}

bool schemeFits(const QuantScheme& s, int64_t cols) { return s.format != QuantFormat::Ggml || cols % s.group == 0; }

namespace {
struct Evaluator {
    const Model& model;
    const TokenWindows& eval;
    const BudgetOptions& opt;
    double linearParams = 0;

    GgufExportOptions exportOptions(const SchemeByTensor& scheme) const { return schemeExportOptions(model, scheme, opt); }

    void measure(BudgetPlan& p, const std::shared_ptr<Model>& q) const
    {
        FidelityOptions fo;
        fo.batch_tokens = opt.batch_tokens;
        fo.int8_products = opt.int8_products;
        p.measured = compareToBase(model, *q, eval, fo);
    }

    BudgetPlan plan(const std::string& label, const SchemeByTensor& scheme, double predicted) const
    {
        BudgetPlan p;
        p.label = label;
        p.scheme = scheme;
        p.predicted_kld = predicted;
        // bits per linear weight without the file's padding
        double bits = 0;
        for (int b = 0; b < model.nBlocks(); ++b)
            for (TensorRole role : linearRoles()) {
                const std::string name = hfTensorName(role, b);
                const at::Tensor raw = model.raw(name);
                const auto it = scheme.find(name);
                bits += it == scheme.end() ? 16.0 * double(raw.numel())
                                           : it->second.bitsPerWeight(raw.size(1)) * double(raw.numel());
            }
        p.bits_per_weight = bits / linearParams;
        if (opt.target == BudgetTarget::GgufFileBytes) { // the values the file holds, embedding and output included
            const GgufExportOptions go = exportOptions(scheme);
            p.file_bytes = ggufFileSize(model, {}, go);
            measure(p, ggufQuantizedModel(model, {}, go));
        } else
            measure(p, quantizedByScheme(model, scheme, opt.imatrix));
        return p;
    }
};

SchemeByTensor schemeOf(const std::vector<TensorSensitivity>& t, const Allocation& a)
{
    SchemeByTensor m;
    for (std::size_t i = 0; i < t.size(); ++i)
        m[t[i].name] = t[i].schemes[std::size_t(a.choice[i])].scheme;
    return m;
}

// llama-quantize's file types a user would otherwise pick, for the file budget's comparison
const std::vector<std::string> kReferenceMixtures{"q8_0", "q6_k", "q5_k_m", "q5_0", "q4_k_m", "q4_k_s", "q4_0", "q3_k_m", "q2_k"};
} // namespace

BudgetResult searchBudget(const Model& model, const TokenWindows& calib, const TokenWindows& evalIn, const BudgetOptions& opt,
                          const ProgressFn& progress)
{
    const TokenWindows& eval = evalIn.count > 0 ? evalIn : calib;
    requireDense(model.config(), "the size-budget search"); // its candidates and probes are dense layers
    if (!std::isfinite(opt.value) || opt.value <= 0)
        throw Error("the budget must be a positive number");
    if (opt.target == BudgetTarget::LinearBitsPerWeight && opt.value > 16)
        throw Error("a target of " + fmt("%g", opt.value) + " bits per weight is above the model's own 16 bits: nothing to quantize");
    BudgetResult res;
    res.target = opt.target;
    res.value = opt.value;
    // the achievable range from the shapes alone: a target outside it fails before any probe
    const std::vector<AllocationTensor> shapes = candidateBytes(model, candidateSchemes(opt), opt.target);
    double linearParams = 0;
    for (int b = 0; b < model.nBlocks(); ++b)
        for (TensorRole role : linearRoles())
            linearParams += double(model.raw(hfTensorName(role, b)).numel());
    Evaluator ev{model, eval, opt, linearParams};
    double fixed = 0, toBytes = linearParams / 8.0; // target units -> bytes of the allocatable tensors
    if (opt.target == BudgetTarget::GgufFileBytes) {
        GgufExportOptions f16;
        f16.type = "f16";
        const double original = double(ggufFileSize(model, {}, f16));
        if (opt.value > original)
            throw Error("a target of " + fmt("%.0f", opt.value) + " bytes is above the model's own size as an F16 GGUF (" +
                        fmt("%.0f", original) + " bytes): nothing to quantize");
        // every tensor at its first candidate that fits (candidateBytes' options[0])
        const std::vector<QuantScheme> candidates = candidateSchemes(opt);
        SchemeByTensor first;
        double firstBytes = 0;
        for (const auto& t : shapes) {
            const int64_t cols = model.raw(t.name).size(1);
            first[t.name] = *std::find_if(candidates.begin(), candidates.end(), [&](const QuantScheme& s) { return schemeFits(s, cols); });
            firstBytes += t.options[0].bytes;
        }
        fixed = fixedFileBytes(model, first, firstBytes, opt, {}, &res.warnings);
        toBytes = 1.0;
    }
    double largest = 0;
    for (const auto& t : shapes) {
        double m = 0;
        for (const auto& o : t.options)
            m = std::max(m, o.bytes);
        largest += m;
    }
    const std::string unit = opt.target == BudgetTarget::GgufFileBytes ? " bytes" : " bits per linear weight";
    const char* f = opt.target == BudgetTarget::GgufFileBytes ? "%.0f" : "%.4g";
    res.min_value = (minimumBytes(shapes) + fixed) / toBytes;
    if (opt.value < res.min_value)
        throw Error("a target of " + fmt(f, opt.value) + unit + " is below the smallest candidate allocation (" + fmt(f, res.min_value) +
                    unit + "); achievable: " + fmt(f, res.min_value) + " to " + fmt(f, (largest + fixed) / toBytes) + unit);
    const double sensShare = 0.55;
    res.tensors = measureSensitivity(model, calib, opt, [&](const Progress& p) {
        return !progress || progress({sensShare * p.fraction, p.stage});
    }, &res.base_calib_ppl);

    std::vector<AllocationTensor> items;
    for (const auto& t : res.tensors) {
        AllocationTensor a{t.name, {}};
        for (const auto& s : t.schemes)
            a.options.push_back({s.scheme.name(), s.bytes, s.kld});
        items.push_back(std::move(a));
    }
    res.max_value = (maximumUsefulBytes(items) + fixed) / toBytes;
    if (opt.value > res.max_value)
        res.warnings.push_back("the target is above what the candidates need (" + fmt(f, res.max_value) + unit +
                               "): every layer gets its least damaging candidate");
    const Allocation chosen = allocate(items, opt.value * toBytes - fixed);
    std::vector<Allocation> frontier = allocationFrontier(items, std::max(2, opt.frontier_points));

    const int jobs = 1 + int(frontier.size()) + (opt.reference ? int(std::max(defaultBudgetSchemes(opt.target).size(), kReferenceMixtures.size())) : 0);
    int done = 0;
    auto step = [&](const std::string& what) {
        ++done;
        reportProgress(progress, sensShare + (1 - sensShare) * std::min(1.0, double(done) / jobs), "KL divergence of " + what);
    };
    res.chosen = ev.plan("chosen", schemeOf(res.tensors, chosen), chosen.damage);
    res.chosen.chosen = true;
    step("the chosen plan");
    for (std::size_t i = 0; i < frontier.size(); ++i) {
        res.frontier.push_back(ev.plan("frontier " + std::to_string(i + 1), schemeOf(res.tensors, frontier[i]), frontier[i].damage));
        step("frontier plan " + std::to_string(i + 1));
    }
    if (opt.reference) {
        if (opt.target == BudgetTarget::LinearBitsPerWeight) {
            // each candidate that fits every layer, alone
            std::vector<QuantScheme> uniform;
            for (const auto& s : res.tensors[0].schemes) {
                bool everywhere = true;
                for (const auto& t : res.tensors)
                    everywhere = everywhere && std::any_of(t.schemes.begin(), t.schemes.end(),
                                                           [&](const SchemeSensitivity& x) { return x.scheme == s.scheme; });
                if (everywhere)
                    uniform.push_back(s.scheme);
            }
            for (const auto& s : uniform) {
                SchemeByTensor m;
                double predicted = 0;
                for (const auto& t : res.tensors) {
                    m[t.name] = s;
                    for (const auto& x : t.schemes)
                        if (x.scheme == s)
                            predicted += x.kld;
                }
                BudgetPlan p = ev.plan(s.name(), m, predicted);
                p.reference = true;
                res.references.push_back(std::move(p));
                step(s.name());
            }
        } else { // llama-quantize's own mixtures, as it would type them (fallbacks included)
            for (const auto& mix : kReferenceMixtures) {
                GgufExportOptions go;
                go.type = mix;
                go.imatrix = opt.imatrix;
                BudgetPlan p;
                p.label = mix;
                p.reference = true;
                const GgufExportReport r = exportGguf(model, {}, std::string(), go);
                p.file_bytes = r.file_bytes;
                double bits = 0;
                for (const auto& t : r.types)
                    for (const auto& s : res.tensors)
                        if (s.gguf_name == t.name)
                            bits += double(gguf::rowBytes(t.type, model.raw(s.name).size(1)) * model.raw(s.name).size(0)) * 8;
                p.bits_per_weight = bits / linearParams;
                ev.measure(p, ggufQuantizedModel(model, {}, go));
                res.references.push_back(std::move(p));
                step(mix);
            }
        }
    }
    auto bySize = [](const BudgetPlan& a, const BudgetPlan& b) {
        return a.file_bytes != b.file_bytes ? a.file_bytes < b.file_bytes : a.bits_per_weight < b.bits_per_weight;
    };
    std::sort(res.frontier.begin(), res.frontier.end(), bySize);
    std::sort(res.references.begin(), res.references.end(), bySize);
    return res;
}

} // namespace tailor
