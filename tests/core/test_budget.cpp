// Budgeted mixed precision (#16): the allocation under a size budget, exact
// GGUF file sizes, and on tinystories-12L a chosen plan whose measured KLD is
// lower than the best uniform scheme of no larger size and, at the size of
// llama-quantize's Q4_K_M file with the same importance matrix, lower than
// Q4_K_M's; the plan exported as GGUF holds exactly the chosen types.
#include "core/compress/apply_plan.h"
#include "core/compress/compression_plan.h"
#include "core/util/error.h"
#include "core/eval/fidelity.h"
#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/analysis/imatrix.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/compress/bit_allocation.h"
#include "core/compress/budget_search.h"
#include "test_data.h"

#include <QTemporaryDir>
#include <QTest>
#include <QFileInfo>
#include <QRegularExpression>
#include <functional>
#include <numeric>

using namespace tailor;

namespace {
// The least damage under the budget by trying every combination.
double bruteForce(const std::vector<AllocationTensor>& t, double budget)
{
    double best = 1e300;
    std::function<void(std::size_t, double, double)> rec = [&](std::size_t i, double bytes, double damage) {
        if (bytes > budget)
            return;
        if (i == t.size()) {
            best = std::min(best, damage);
            return;
        }
        for (const auto& o : t[i].options)
            rec(i + 1, bytes + o.bytes, damage + o.damage);
    };
    rec(0, 0, 0);
    return best;
}

const std::vector<std::string> kSchemes{"q8_0", "q5_0", "q4_0", "int4_sym_g32", "int3_asym_g32", "int3_sym_g32", "int2_asym_g32"};
} // namespace

class TestBudget : public QObject {
    Q_OBJECT
    std::shared_ptr<ModelSession> s;
    TokenWindows calib, eval;

private Q_SLOTS:
    void initTestCase()
    {
        s = ModelSession::open(testdata::tinystories12L());
        CalibOptions co;
        co.windows = 6;
        co.seq_len = 128;
        calib = s->calibration(testdata::calibText(), co);
        eval = cutWindows(s->tokenizeFile(testdata::validText()), 256, 12, "valid");
    }

    void allocationNearOptimal()
    {
        // five tensors with options of decreasing damage per byte (as quantization types are), and some that are not
        std::vector<AllocationTensor> t;
        uint32_t seed = 7;
        auto rnd = [&] { seed = seed * 1664525u + 1013904223u; return double(seed >> 8) / double(1u << 24); };
        for (int i = 0; i < 5; ++i) {
            AllocationTensor x{"t" + std::to_string(i), {}};
            const double scale = 0.1 + rnd(), size = 100 + 400 * rnd();
            for (double bits : {2.5, 3.5, 4.5, 5.5, 8.5})
                x.options.push_back({std::to_string(bits), size * bits, scale * std::pow(2.0, -2 * bits) * (0.8 + 0.4 * rnd())});
            t.push_back(x);
        }
        const double lo = minimumBytes(t), hi = maximumUsefulBytes(t);
        int optimal = 0;
        double worst = 1;
        for (int k = 0; k <= 40; ++k) {
            const double budget = lo + (hi - lo) * k / 40.0;
            const Allocation a = allocate(t, budget);
            const double best = bruteForce(t, budget);
            QVERIFY2(a.bytes <= budget + 1e-9, qPrintable(QString("over budget at %1").arg(budget)));
            double sum = 0;
            for (std::size_t i = 0; i < t.size(); ++i)
                sum += t[i].options[std::size_t(a.choice[i])].damage;
            QVERIFY(std::abs(sum - a.damage) < 1e-12);
            worst = std::max(worst, a.damage / best);
            QVERIFY2(a.damage <= best * 1.01 + 1e-15, qPrintable(QString("budget %1: %2 vs optimum %3").arg(budget).arg(a.damage).arg(best)));
            optimal += a.damage <= best * (1 + 1e-12);
        }
        qInfo("optimal at %d of 41 budgets, at worst %.4f x the optimum", optimal, worst);
        QVERIFY(optimal >= 39);
        const QString e = QString::fromStdString(testdata::errorOf([&] { allocate(t, lo - 1); }));
        QVERIFY2(e.contains("below the smallest allocation") && e.contains("achievable"), qPrintable(e));
    }

    void fileSizeIsTheWrittenSize()
    {
        QTemporaryDir tmp;
        GgufExportOptions go;
        go.type = "q4_k_m";
        go.overrides.push_back(gguf::parseTypeOverride("^blk\\.3\\.ffn_down\\.weight$=q4_0"));
        const std::string path = (tmp.path() + "/m.gguf").toStdString();
        const GgufExportReport r = exportGguf(s->model(), {}, path, go);
        QCOMPARE(ggufFileSize(s->model(), {}, go), uint64_t(QFileInfo(QString::fromStdString(path)).size()));
        QCOMPARE(r.file_bytes, uint64_t(QFileInfo(QString::fromStdString(path)).size()));
    }

    void bitsBudgetBeatsUniform()
    {
        BudgetOptions o;
        o.target = BudgetTarget::LinearBitsPerWeight;
        o.value = 4.0;
        o.schemes = kSchemes;
        o.frontier_points = 2;
        const BudgetResult r = searchBudget(s->model(), calib, eval, o);
        QCOMPARE(r.min_value, 2.5625); // int2_asym_g32 everywhere
        QCOMPARE(r.max_value, 8.5);    // q8_0 everywhere
        QVERIFY(r.chosen.bits_per_weight <= 4.0 + 1e-9);
        QVERIFY(r.chosen.bits_per_weight > 3.9); // the budget is used
        QVERIFY(!r.references.empty());
        // the best uniform scheme of no larger size
        const BudgetPlan* best = nullptr;
        for (const auto& p : r.references)
            if (p.bits_per_weight <= r.chosen.bits_per_weight + 1e-9 && (!best || p.measured.kld_mean < best->measured.kld_mean))
                best = &p;
        QVERIFY(best);
        qInfo("chosen %.4f bits: KLD %.6f (predicted %.6f); best uniform %s %.4f bits: %.6f", r.chosen.bits_per_weight,
              r.chosen.measured.kld_mean, r.chosen.predicted_kld, best->label.c_str(), best->bits_per_weight, best->measured.kld_mean);
        QVERIFY(r.chosen.measured.kld_mean < best->measured.kld_mean);
        // the additive prediction is the right size (small perturbations add)
        QVERIFY(r.chosen.predicted_kld > 0.5 * r.chosen.measured.kld_mean && r.chosen.predicted_kld < 2 * r.chosen.measured.kld_mean);
        // the sensitivities are measured: one probe per layer, each positive
        int measured = 0;
        for (const auto& t : r.tensors)
            for (const auto& x : t.schemes) {
                measured += x.measured;
                QVERIFY(x.kld >= 0);
            }
        QCOMPARE(measured, int(r.tensors.size()));
        QCOMPARE(int(r.tensors.size()), 12 * 7);

        // as a plan of quant rules, compress applies exactly the measured model
        CompressionPlan plan;
        plan.model = testdata::tinystories12L();
        PlanQuant q;
        for (const auto& [n, sch] : r.chosen.scheme)
            q.rules.push_back({"^" + QRegularExpression::escape(QString::fromStdString(n)).toStdString() + "$", sch});
        plan.quant = q;
        const CompressionPlan back = CompressionPlan::fromJson(plan.toJson(), "plan");
        QCOMPARE(int(back.quant->rules.size()), 84);
        const AppliedPlan applied = applyPlan(*s, back, "");
        FidelityOptions fo;
        const FidelityResult f = compareToBase(s->model(), *applied.model, eval, fo);
        QVERIFY2(std::abs(f.kld_mean - r.chosen.measured.kld_mean) <= 1e-9 * r.chosen.measured.kld_mean + 1e-12,
                 qPrintable(QString("%1 vs %2").arg(f.kld_mean, 0, 'g', 12).arg(r.chosen.measured.kld_mean, 0, 'g', 12)));
    }

    void fileBudgetBeatsQ4KM()
    {
        const Imatrix im = computeImatrix(s->model(), calib, "calib");
        GgufExportOptions q4km;
        q4km.type = "q4_k_m";
        q4km.imatrix = &im;
        BudgetOptions o;
        o.target = BudgetTarget::GgufFileBytes;
        o.value = double(ggufFileSize(s->model(), {}, q4km));
        o.imatrix = &im;
        o.frontier_points = 2;
        const BudgetResult r = searchBudget(s->model(), calib, eval, o);
        QVERIFY(r.chosen.file_bytes <= uint64_t(o.value));
        const BudgetPlan* ref = nullptr;
        for (const auto& p : r.references)
            if (p.label == "q4_k_m")
                ref = &p;
        QVERIFY(ref);
        QCOMPARE(ref->file_bytes, uint64_t(o.value));
        qInfo("file budget %.0f bytes: chosen %llu bytes KLD %.6f, q4_k_m KLD %.6f", o.value,
              (unsigned long long)r.chosen.file_bytes, r.chosen.measured.kld_mean, ref->measured.kld_mean);
        QVERIFY(r.chosen.measured.kld_mean < ref->measured.kld_mean);

        // the plan's GGUF: the chosen size to the byte, and each layer's chosen type
        GgufExportOptions go;
        go.type = o.base_type;
        go.imatrix = &im;
        for (const auto& spec : ggufTensorTypes(s->model(), r.chosen.scheme))
            go.overrides.push_back(gguf::parseTypeOverride(spec));
        QTemporaryDir tmp;
        const std::string path = (tmp.path() + "/budget.gguf").toStdString();
        exportGguf(s->model(), {}, path, go);
        QCOMPARE(uint64_t(QFileInfo(QString::fromStdString(path)).size()), r.chosen.file_bytes);
        const auto f = gguf::File::open(path);
        int checked = 0;
        for (const auto& t : r.tensors) {
            const gguf::TensorInfo* ti = f->tensor(t.gguf_name);
            QVERIFY(ti);
            QCOMPARE(QString::fromStdString(gguf::typeName(ti->type)).toLower(), QString::fromStdString(r.chosen.scheme.at(t.name).name()));
            ++checked;
        }
        QCOMPARE(checked, 84);
        // the values measured are the file's
        const FidelityResult fr = compareToBase(s->model(), *ggufQuantizedModel(s->model(), {}, go), eval, {});
        QCOMPARE(fr.kld_mean, r.chosen.measured.kld_mean);

        // #32: the plans measured on int8 GEMM (llama.cpp's arithmetic): the same
        // choice, still ahead of q4_k_m, and the measured plans in the same order
        o.int8_products = true;
        const BudgetResult r8 = searchBudget(s->model(), calib, eval, o);
        QCOMPARE(r8.chosen.scheme.size(), r.chosen.scheme.size());
        for (const auto& [name, scheme] : r.chosen.scheme)
            QCOMPARE(QString::fromStdString(r8.chosen.scheme.at(name).name()), QString::fromStdString(scheme.name()));
        QVERIFY(r8.chosen.measured.kld_mean != r.chosen.measured.kld_mean); // really measured the other way
        const auto plans = [](const BudgetResult& b) {
            std::vector<const BudgetPlan*> v{&b.chosen};
            for (const auto& p : b.frontier)
                v.push_back(&p);
            for (const auto& p : b.references)
                v.push_back(&p);
            return v;
        };
        const auto fp = plans(r), i8 = plans(r8);
        QCOMPARE(i8.size(), fp.size());
        const auto order = [](const std::vector<const BudgetPlan*>& v) {
            std::vector<std::size_t> idx(v.size());
            std::iota(idx.begin(), idx.end(), 0);
            std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a]->measured.kld_mean < v[b]->measured.kld_mean; });
            return idx;
        };
        for (std::size_t i = 0; i < fp.size(); ++i)
            qInfo("%-12s fp32 KLD %.6f  int8 KLD %.6f", fp[i]->label.c_str(), fp[i]->measured.kld_mean, i8[i]->measured.kld_mean);
        QVERIFY(order(fp) == order(i8)); // plans of one model (q8_0, q6_k here) tie on both paths
        for (const BudgetPlan* p : i8)
            if (p->label == "q4_k_m")
                QVERIFY(r8.chosen.measured.kld_mean < p->measured.kld_mean);
    }

    void badTargets()
    {
        BudgetOptions o;
        o.schemes = {"q8_0", "q4_0"};
        o.reference = false;
        o.value = 3.0;
        QString e = QString::fromStdString(testdata::errorOf([&] { searchBudget(s->model(), calib, eval, o); }));
        QVERIFY2(e.contains("below the smallest candidate allocation") && e.contains("achievable: 4.5 to 8.5"), qPrintable(e));
        o.value = 17;
        e = QString::fromStdString(testdata::errorOf([&] { searchBudget(s->model(), calib, eval, o); }));
        QVERIFY2(e.contains("above the model's own 16 bits"), qPrintable(e));
        o.target = BudgetTarget::GgufFileBytes;
        o.value = 1e9;
        e = QString::fromStdString(testdata::errorOf([&] { searchBudget(s->model(), calib, eval, o); }));
        QVERIFY2(e.contains("above the model's own size as an F16 GGUF"), qPrintable(e));
        o.value = 1e6;
        o.schemes = {"int4_sym_g32"};
        e = QString::fromStdString(testdata::errorOf([&] { searchBudget(s->model(), calib, eval, o); }));
        QVERIFY2(e.contains("a GGUF file holds llama.cpp's types only"), qPrintable(e));
        o.schemes = {"q4_k"}; // rows of 128 and 352 columns: no K type fits
        e = QString::fromStdString(testdata::errorOf([&] { searchBudget(s->model(), calib, eval, o); }));
        QVERIFY2(e.contains("fits none of the candidate types"), qPrintable(e));
    }
};

QTEST_GUILESS_MAIN(TestBudget)
#include "test_budget.moc"
