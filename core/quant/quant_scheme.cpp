#include "quant_scheme.h"
#include "core/util/error.h"

#include <cctype>
#include <regex>

namespace tailor {

QuantScheme QuantScheme::parse(const std::string& n)
{
    QuantScheme s;
    if (const auto t = gguf::typeFromName(n); t && gguf::typeInfo(*t).quantized && n.find_first_of("QK") == std::string::npos) {
        const gguf::TypeInfo& info = gguf::typeInfo(*t);
        s.format = QuantFormat::Ggml;
        s.ggml = *t;
        s.bits = int(info.blockBytes * 8 / info.block); // nominal (bitsPerWeight has the exact figure)
        s.granularity = Granularity::Group;
        s.group = info.block;
        return s;
    }
    static const std::regex rx("int(\\d+)_(sym|asym)_(g(\\d+)|channel|tensor)(_mse)?");
    std::smatch m;
    if (!std::regex_match(n, m, rx))
        throw Error("unknown quantization scheme '" + n + "' (examples: int4_sym_g32, int8_sym_channel, q8_0, q4_k)");
    s.bits = std::stoi(m[1]);
    s.symmetric = m[2] == "sym";
    if (m[3] == "channel")
        s.granularity = Granularity::Channel;
    else if (m[3] == "tensor")
        s.granularity = Granularity::Tensor;
    else
        s.group = std::stoll(m[4]);
    if (m[5].matched)
        s.clip = ClipMethod::Mse;
    s.validate();
    return s;
}

std::string QuantScheme::name() const
{
    if (format == QuantFormat::Ggml) {
        std::string n = gguf::typeName(ggml);
        for (char& c : n)
            c = char(std::tolower(static_cast<unsigned char>(c)));
        return n;
    }
    std::string g = granularity == Granularity::Channel ? "channel"
                  : granularity == Granularity::Tensor  ? "tensor"
                                                        : "g" + std::to_string(group);
    return "int" + std::to_string(bits) + (symmetric ? "_sym_" : "_asym_") + g + (clip == ClipMethod::Mse ? "_mse" : "");
}

bool operator==(const QuantScheme& a, const QuantScheme& b) { return a.name() == b.name(); }
bool operator!=(const QuantScheme& a, const QuantScheme& b) { return !(a == b); }

void QuantScheme::validate() const
{
    // (llama.cpp's types are their own blocks: IQ1_S and TQ1_0 go below 2 bits)
    if (format != QuantFormat::Ggml && (bits < 2 || bits > 8))
        throw Error("quantization to " + std::to_string(bits) + " bits is not supported (2 to 8 bits)");
    if (granularity == Granularity::Group && group <= 0)
        throw Error("group size must be positive");
}

void QuantScheme::checkShape(const std::string& tensor, int64_t in) const
{
    if (format == QuantFormat::Ggml && in % group != 0)
        throw Error("tensor '" + tensor + "': " + name() + " needs a multiple of " + std::to_string(group) +
                    " input columns, it has " + std::to_string(in));
}

int64_t QuantScheme::blockSize(int64_t in) const
{
    return granularity == Granularity::Group ? group : in;
}

double QuantScheme::bitsPerWeight(int64_t in) const
{
    if (format == QuantFormat::Ggml) // the block's bytes: scales, mins and codes
        return double(gguf::typeInfo(ggml).blockBytes * 8) / double(gguf::typeInfo(ggml).block);
    if (granularity == Granularity::Tensor)
        return bits;
    const double perBlock = 16.0 + (symmetric ? 0.0 : bits); // fp16 scale (+ zero point)
    return bits + perBlock / double(blockSize(in));
}

} // namespace tailor

namespace tailor {

std::vector<std::string> ggmlSchemeNames()
{
    std::vector<std::string> out;
    for (const gguf::TypeInfo& t : gguf::ggmlTypes())
        if (t.quantized) {
            QuantScheme s;
            s.format = QuantFormat::Ggml;
            s.ggml = t.type;
            out.push_back(s.name());
        }
    return out;
}

} // namespace tailor
