// How long the Compress view's live prediction takes (#27): validate + predictPlan
// of a heavy plan (every other block dropped, every linear layer at a rank, one
// quantization rule per tensor as a size budget writes them) on a model, median
// of repeated runs. The view calls it on the GUI thread at each change, which
// docs/architecture.md allows only while it stays under 1 ms on the largest
// model Tailor opens.
//   bench_plan MODEL_DIR [REPEATS]
#include "core/compress/plan_prediction.h"
#include "core/model/model_session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace tailor;

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_plan MODEL_DIR [REPEATS]\n");
        return 2;
    }
    const auto session = ModelSession::open(argv[1]);
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 200;
    const int L = int(session->summary().n_layer);
    CompressionPlan plan;
    plan.model = argv[1];
    for (int b = 1; b < L - 1; b += 2)
        plan.drop_blocks.push_back(b);
    PlanQuant q;
    for (const auto& t : session->summary().tensors) {
        if (t.block < 0 || t.shape.size() != 2)
            continue;
        plan.ranks[t.name] = std::max<int64_t>(1, std::min(t.shape[0], t.shape[1]) / 4);
        std::string escaped; // as the size budget writes its rules
        for (char c : t.name)
            escaped += c == '.' ? std::string("\\.") : std::string(1, c);
        q.rules.push_back({"^" + escaped + "$", QuantScheme::parse(t.block % 2 ? "q4_k" : "q6_k")});
    }
    plan.quant = q;
    std::vector<double> us;
    PlanPrediction p;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        p = predictPlan(*session, plan);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    std::printf("%s: %d blocks, %zu ranks, %zu quant rules: predictPlan median %.1f us, p90 %.1f us (%d runs); %lld -> %lld parameters\n",
                argv[1], L, plan.ranks.size(), q.rules.size(), us[us.size() / 2], us[us.size() * 9 / 10], repeats,
                (long long)p.parameters_before, (long long)p.parameters_after);
    return 0;
}
