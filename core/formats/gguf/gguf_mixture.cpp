#include "gguf_mixture.h"
#include "core/util/error.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>
#include <regex>

namespace tailor::gguf {

const std::vector<Mixture>& mixtures()
{
    // llama.h's llama_ftype values and llama_ftype_get_default_type
    static const std::vector<Mixture> rows = {
        {"f32", 0, TensorType::F32},     {"f16", 1, TensorType::F16},     {"bf16", 32, TensorType::BF16},
        {"q4_0", 2, TensorType::Q4_0},   {"q4_1", 3, TensorType::Q4_1},   {"q5_0", 8, TensorType::Q5_0},
        {"q5_1", 9, TensorType::Q5_1},   {"q8_0", 7, TensorType::Q8_0},   {"q2_k", 10, TensorType::Q2_K},
        {"q3_k_s", 11, TensorType::Q3_K}, {"q3_k_m", 12, TensorType::Q3_K}, {"q3_k_l", 13, TensorType::Q3_K},
        {"q4_k_s", 14, TensorType::Q4_K}, {"q4_k_m", 15, TensorType::Q4_K}, {"q5_k_s", 16, TensorType::Q5_K},
        {"q5_k_m", 17, TensorType::Q5_K}, {"q6_k", 18, TensorType::Q6_K}, {"iq4_nl", 25, TensorType::IQ4_NL},
        {"iq4_xs", 30, TensorType::IQ4_XS}, {"tq1_0", 36, TensorType::TQ1_0}, {"tq2_0", 37, TensorType::TQ2_0},
        {"iq3_xs", 22, TensorType::IQ3_S}, {"iq3_s", 26, TensorType::IQ3_S}, {"iq3_m", 27, TensorType::IQ3_S},
        {"iq3_xxs", 23, TensorType::IQ3_XXS}, {"iq2_xxs", 19, TensorType::IQ2_XXS}, {"iq2_xs", 20, TensorType::IQ2_XS},
        {"iq2_s", 28, TensorType::IQ2_XS}, {"iq2_m", 29, TensorType::IQ2_S}, {"iq1_s", 24, TensorType::IQ1_S},
        {"iq1_m", 31, TensorType::IQ1_M},
    };
    return rows;
}

namespace {
std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// llama.cpp's aliases: "q4_k" is Q4_K_M, "q3_k" is Q3_K_M, "q5_k" is Q5_K_M
std::string canonical(const std::string& n)
{
    if (n == "q3_k")
        return "q3_k_m";
    if (n == "q4_k")
        return "q4_k_m";
    if (n == "q5_k")
        return "q5_k_m";
    return n;
}
} // namespace

const Mixture& mixture(const std::string& name)
{
    const std::string n = canonical(lower(name));
    for (const Mixture& m : mixtures())
        if (n == m.name)
            return m;
    std::string all;
    for (const Mixture& m : mixtures())
        all += (all.empty() ? "" : ", ") + std::string(m.name);
    throw Error("unknown GGUF type '" + name + "' (one of " + all + ")");
}

TypeOverride parseTypeOverride(const std::string& spec)
{
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
        throw Error("tensor type override '" + spec + "' is not PATTERN=TYPE (e.g. attn_v=q8_0)");
    const std::string pattern = lower(spec.substr(0, eq)), type = spec.substr(eq + 1);
    const auto t = typeFromName(type);
    if (!t)
        throw Error("tensor type override '" + spec + "': unknown type '" + type + "' (one of " + typeNames() + ")");
    try {
        std::regex check(pattern);
    } catch (const std::regex_error& e) {
        throw Error("tensor type override '" + spec + "': '" + pattern + "' is not a valid regular expression");
    }
    return {pattern, *t};
}

bool llamaTensorOrder(const std::string& a, const std::string& b)
{
    int la = -1, lb = -1;
    std::sscanf(a.c_str(), "blk.%d.", &la);
    std::sscanf(b.c_str(), "blk.%d.", &lb);
    return la != lb ? la < lb : a < b;
}

namespace {
enum class Category { TokenEmbd, AttnQ, AttnK, AttnV, AttnOutput, FfnUp, FfnGate, FfnDown, Output, Other };

Category categoryOf(const std::string& n)
{
    auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
    if (n == "output.weight")
        return Category::Output;
    if (n == "token_embd.weight")
        return Category::TokenEmbd;
    if (has("attn_v.weight"))
        return Category::AttnV;
    if (has("attn_k.weight"))
        return Category::AttnK;
    if (has("attn_q.weight"))
        return Category::AttnQ;
    if (has("attn_output.weight"))
        return Category::AttnOutput;
    if (has("ffn_up"))
        return Category::FfnUp;
    if (has("ffn_gate"))
        return Category::FfnGate;
    if (has("ffn_down"))
        return Category::FfnDown;
    return Category::Other;
}

// tensor_allows_quantization, for the tensors of the llama-like families
bool quantizable(const TensorShape& t)
{
    const std::string& n = t.name;
    // (a mixture's router stays as it is: llama.cpp never quantizes ffn_gate_inp)
    return t.ne.size() >= 2 && n.size() >= 6 && n.compare(n.size() - 6, 6, "weight") == 0 &&
           n.find("_norm.weight") == std::string::npos && n.find("ffn_gate_inp.weight") == std::string::npos;
}

bool useMoreBits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

struct State {
    int nAttnV = 0, iAttnV = 0, nLayer = 0, iFfnDown = 0, iFfnGate = 0, iFfnUp = 0;
    bool tied = true;
};

// llama_tensor_get_type_impl for the file types in mixtures() (no falcon);
// m.n_expert == 8 (Mixtral's count) takes llama.cpp's extra attention bits
TensorType mixtureRule(State& s, const Mixture& mix, const MixtureModel& m, const TensorShape& t, Category cat, TensorType type)
{
    const uint32_t f = mix.ftype;
    enum : uint32_t { Q4_0 = 2, Q8_0f = 7, Q5_0 = 8, Q2_K = 10, Q3_K_S = 11, Q3_K_M = 12, Q3_K_L = 13, Q4_K_S = 14, Q4_K_M = 15,
                      Q5_K_M = 17, IQ2_XXS = 19, IQ2_XS = 20, IQ3_XS = 22, IQ3_XXS = 23, IQ1_S = 24, IQ4_NL = 25, IQ3_S = 26,
                      IQ3_M = 27, IQ2_S = 28, IQ2_M = 29, IQ4_XS = 30, IQ1_M = 31, TQ1_0 = 36, TQ2_0 = 37 };
    // the 2-bit (and 1-bit) file types have a rule set of their own
    const bool iq2 = f == IQ2_XXS || f == IQ2_XS || f == IQ2_S || f == IQ2_M || f == IQ1_S || f == IQ1_M;
    const bool iq2s = f == IQ2_S || f == IQ2_M; // these use IQ3_S where the others use Q2_K
    const bool iq4 = f == IQ4_NL || f == IQ4_XS;
    const int64_t gqa = m.n_head_kv > 0 ? m.n_head / m.n_head_kv : 1;
    const bool is70B = m.arch == "llama" && m.n_layer == 80 && m.n_head != m.n_head_kv;
    if (cat == Category::Output || (s.tied && cat == Category::TokenEmbd)) {
        // the output matrix (or the tied embedding that is also the output) keeps more bits
        if (t.ne[0] % blockSize(type) != 0)
            return TensorType::Q8_0;
        if (iq2 || f == IQ3_XXS)
            return TensorType::Q5_K;
        return type != TensorType::Q8_0 ? TensorType::Q6_K : type;
    }
    if (cat == Category::TokenEmbd) {
        if (f == IQ2_XXS || f == IQ2_XS || f == IQ1_S || f == IQ1_M)
            return TensorType::Q2_K;
        if (iq2s || f == IQ3_XXS)
            return TensorType::IQ3_S;
        return f == TQ1_0 || f == TQ2_0 ? TensorType::Q4_K : type;
    }
    const bool eight = m.n_expert == 8;
    if (iq2) {
        if (cat == Category::AttnV) {
            ++s.iAttnV;
            return gqa >= 4 || m.n_expert >= 4 ? TensorType::Q4_K : iq2s ? TensorType::IQ3_S : TensorType::Q2_K;
        }
        if (eight && cat == Category::AttnK)
            return TensorType::Q4_K;
        if (cat == Category::FfnDown) {
            if (s.iFfnDown++ < s.nLayer / 8)
                return iq2s ? TensorType::IQ3_S : TensorType::Q2_K;
            return type;
        }
        if (cat == Category::AttnOutput)
            return eight ? TensorType::Q5_K : f == IQ1_S || f == IQ1_M ? TensorType::IQ2_XXS : iq2s ? TensorType::IQ3_S : type;
        return type;
    }
    if (cat == Category::AttnV) {
        if (f == Q2_K)
            type = gqa >= 4 ? TensorType::Q4_K : TensorType::Q3_K;
        else if (f == IQ3_XXS)
            type = gqa >= 4 ? TensorType::Q4_K : !m.hasImatrix ? TensorType::IQ3_S : TensorType::IQ3_XXS;
        else if (f == Q3_K_M)
            type = s.iAttnV < 2 ? TensorType::Q5_K : TensorType::Q4_K;
        else if (f == Q3_K_L)
            type = TensorType::Q5_K;
        else if ((f == Q4_K_M || f == Q5_K_M) && useMoreBits(s.iAttnV, s.nAttnV))
            type = TensorType::Q6_K;
        else if (iq4 && gqa >= 4)
            type = TensorType::Q5_K;
        else if (((f == IQ3_XS || f == IQ3_S) && gqa >= 4) || f == IQ3_M)
            type = TensorType::Q4_K;
        else if (f == Q4_K_S && s.iAttnV < 4)
            type = TensorType::Q5_K;
        if (is70B && (type == TensorType::Q3_K || type == TensorType::Q4_K))
            type = TensorType::Q5_K;
        if (eight)
            type = TensorType::Q8_0;
        ++s.iAttnV;
        return type;
    }
    if (cat == Category::FfnDown) {
        const int i = s.iFfnDown, n = s.nLayer;
        if (f == Q2_K)
            type = TensorType::Q3_K;
        else if (f == IQ3_XXS && !m.hasImatrix)
            type = i < n / 8 ? TensorType::Q4_K : TensorType::Q3_K;
        else if (f == Q3_K_M)
            type = i < n / 16 ? TensorType::Q5_K : TensorType::Q4_K; // (arch != falcon) always takes Q4_K
        else if (f == Q3_K_L)
            type = TensorType::Q5_K;
        else if (f == Q4_K_M) {
            if (useMoreBits(i, n))
                type = TensorType::Q6_K;
        } else if (iq4 && i < n / 8 && !m.hasImatrix)
            type = TensorType::Q5_K;
        else if (f == Q5_K_M && useMoreBits(i, n))
            type = TensorType::Q6_K;
        else if (f == Q4_K_S && i < n / 8)
            type = TensorType::Q5_K;
        else if (f == IQ3_M && (i < n / 8 || (eight && useMoreBits(i, n))))
            type = TensorType::Q4_K;
        else if ((f == Q4_0 || f == Q5_0) && m.hasImatrix && i < n / 8)
            type = f == Q4_0 ? TensorType::Q4_1 : TensorType::Q5_1;
        ++s.iFfnDown;
        return type;
    }
    if (cat == Category::AttnOutput && eight) {
        const bool bump = f == Q2_K || f == IQ3_XS || f == IQ3_XXS || f == Q3_K_S || f == Q3_K_M || f == IQ4_NL || f == Q4_K_S ||
                          f == Q4_K_M || f == IQ3_S || f == IQ3_M || f == IQ4_XS;
        return bump ? TensorType::Q5_K : type;
    }
    if (cat == Category::AttnK && eight)
        return TensorType::Q8_0;
    if (cat == Category::AttnOutput) {
        if (f == Q2_K)
            type = TensorType::Q3_K;
        else if (f == Q3_K_M)
            type = TensorType::Q4_K;
        else if (f == Q3_K_L)
            type = TensorType::Q5_K;
        else if (f == IQ3_M)
            type = TensorType::Q4_K;
        else if (f == IQ3_XXS)
            type = TensorType::IQ3_S;
        return type;
    }
    if ((cat == Category::AttnQ || cat == Category::AttnK) && f == IQ3_XS)
        return TensorType::IQ3_XXS;
    if ((cat == Category::AttnQ || cat == Category::AttnK) && f == IQ3_XXS)
        return TensorType::IQ2_S;
    if (cat == Category::FfnGate || cat == Category::FfnUp) {
        // IQ3_XS: the middle three quarters of the gate and up matrices take IQ3_XXS
        const int i = cat == Category::FfnGate ? s.iFfnGate++ : s.iFfnUp++, n = s.nLayer;
        if (f == IQ3_XS && i >= n / 8 && i < 7 * n / 8)
            type = TensorType::IQ3_XXS;
        return type;
    }
    (void)Q8_0f;
    return type;
}

// tensor_type_fallback
TensorType fallback(const TensorShape& t, TensorType type, std::vector<std::string>* warnings)
{
    const int64_t cols = t.ne[0];
    if (cols % blockSize(type) == 0)
        return type;
    TensorType to = type;
    switch (type) {
    case TensorType::Q2_K:
    case TensorType::Q3_K:
    case TensorType::TQ1_0:
    case TensorType::TQ2_0: to = TensorType::Q4_0; break;
    case TensorType::Q4_K: to = TensorType::Q5_0; break;
    case TensorType::Q5_K: to = TensorType::Q5_1; break;
    case TensorType::Q6_K: to = TensorType::Q8_0; break;
    case TensorType::IQ4_XS:
    case TensorType::IQ3_XXS:
    case TensorType::IQ3_S:
    case TensorType::IQ2_XXS:
    case TensorType::IQ2_XS:
    case TensorType::IQ2_S:
    case TensorType::IQ1_S:
    case TensorType::IQ1_M: to = TensorType::IQ4_NL; break;
    default: break; // a 32-block type has nothing smaller: F16 below
    }
    if (cols % blockSize(to) != 0)
        to = TensorType::F16;
    if (warnings)
        warnings->push_back(t.name + ": rows of " + std::to_string(cols) + " are not a multiple of " +
                            std::to_string(blockSize(type)) + " (" + typeName(type) + "); written as " + typeName(to));
    return to;
}
} // namespace

std::vector<TypeChoice> chooseTypes(const Mixture& mix, const MixtureModel& model, const std::vector<TensorShape>& tensors,
                                    const std::vector<TypeOverride>& overrides, std::vector<std::string>* warnings)
{
    // the rules count attn_v and ffn_down tensors in llama.cpp's order
    std::vector<std::size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return llamaTensorOrder(tensors[a].name, tensors[b].name); });
    State s;
    s.nLayer = int(model.n_layer);
    for (const TensorShape& t : tensors) {
        const Category c = categoryOf(t.name);
        s.nAttnV += c == Category::AttnV;
        if (c == Category::Output)
            s.tied = false;
    }
    std::vector<std::regex> patterns;
    std::vector<bool> used(overrides.size(), false);
    for (const TypeOverride& o : overrides)
        patterns.emplace_back(o.pattern);

    std::vector<TypeChoice> out(tensors.size(), TypeChoice{TensorType::F32});
    for (std::size_t k : order) {
        const TensorShape& t = tensors[k];
        if (!quantizable(t))
            continue; // F32 (norms, biases, rope_freqs)
        TypeChoice c{mix.base};
        if (typeInfo(mix.base).quantized) {
            for (std::size_t r = 0; r < overrides.size(); ++r)
                if (std::regex_search(t.name, patterns[r])) {
                    c.type = overrides[r].type;
                    c.overridden = true;
                    used[r] = true;
                    break;
                }
            if (!c.overridden)
                c.type = mixtureRule(s, mix, model, t, categoryOf(t.name), mix.base);
            c.type = fallback(t, c.type, warnings);
        }
        out[k] = c;
    }
    if (warnings)
        for (std::size_t r = 0; r < overrides.size(); ++r)
            if (!used[r])
                warnings->push_back("tensor type override '" + overrides[r].pattern + "=" + typeName(overrides[r].type) +
                                    "' matches no tensor" + (typeInfo(mix.base).quantized ? "" : " (only quantized file types take overrides)"));
    return out;
}

} // namespace tailor::gguf
