// tailor-cli info MODEL_DIR [--json]
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/model_session.h"
#include "core/result_json.h"

#include <cstdio>

namespace tailor::cli {

int cmdInfo(const Argv& argv)
{
    const Args args(argv, {}, {"json"});
    const auto session = ModelSession::open(args.positional(0, "MODEL_DIR"));
    const ModelSummary& s = session->summary();
    if (args.flag("json")) {
        printJson(toJson(s));
        return 0;
    }
    std::printf("model        %s\n", s.dir.c_str());
    std::printf("architecture %s, %lld blocks, hidden %lld, intermediate %lld\n", s.model_type.c_str(),
                (long long)s.n_layer, (long long)s.hidden_size, (long long)s.intermediate_size);
    std::printf("attention    %lld heads, %lld KV heads, head_dim %lld, rope_theta %g\n", (long long)s.n_head,
                (long long)s.n_head_kv, (long long)s.head_dim, s.rope_theta);
    std::printf("vocabulary   %lld%s, context %lld\n", (long long)s.vocab_size,
                s.tie_word_embeddings ? " (tied embeddings)" : "", (long long)s.max_position_embeddings);
    std::printf("parameters   %lld (%.2f M), %lld per block, dtype %s, %.1f MB on disk\n\n", (long long)s.parameters,
                double(s.parameters) / 1e6, (long long)s.block_parameters, s.dtype.c_str(), double(s.file_bytes) / 1e6);
    std::printf("%-52s %-14s %-5s %12s\n", "tensor", "shape", "dtype", "parameters");
    for (const auto& t : s.tensors) {
        std::string shape;
        for (std::size_t i = 0; i < t.shape.size(); ++i)
            shape += (i ? "x" : "") + std::to_string(t.shape[i]);
        std::printf("%-52s %-14s %-5s %12lld\n", t.name.c_str(), shape.c_str(), t.dtype.c_str(), (long long)t.parameters);
    }
    return 0;
}

} // namespace tailor::cli
