#include "mc_tasks.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"
#include "core/tokenizer/tokenizer.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <cmath>

namespace tailor {

namespace {
std::string str(const QJsonValue& v) { return v.toString().toStdString(); }

int labelOf(const QJsonValue& v, const std::string& where)
{
    if (v.isDouble())
        return v.toInt();
    bool ok = false;
    const int n = v.toString().toInt(&ok);
    if (!ok)
        throw Error(where + ": the label is neither a number nor a number in a string");
    return n;
}

McItem parseItem(const QJsonObject& o, const std::string& where)
{
    McItem item;
    auto shared = [&](const std::string& ctx, const QJsonArray& choices, const char* delim) {
        for (const auto& c : choices) {
            if (!c.isString())
                throw Error(where + ": every choice must be a string");
            item.choices.push_back({ctx, delim + str(c)});
        }
    };
    if (o.contains("context") && o.contains("choices")) { // Tailor's own format: the continuation as written
        shared(str(o["context"]), o["choices"].toArray(), "");
        item.label = labelOf(o["label"], where);
    } else if (o.contains("ctx") && o.contains("endings")) { // HellaSwag
        shared(str(o["ctx"]), o["endings"].toArray(), " ");
        item.label = labelOf(o["label"], where);
    } else if (o.contains("goal") && o.contains("sol1")) { // PIQA
        shared("Question: " + str(o["goal"]) + "\nAnswer:", QJsonArray{o["sol1"], o["sol2"]}, " ");
        item.label = labelOf(o["label"], where);
    } else if (o.contains("question") && o["choices"].isObject()) { // ARC
        const QJsonObject c = o["choices"].toObject();
        shared("Question: " + str(o["question"]) + "\nAnswer:", c["text"].toArray(), " ");
        const QJsonArray labels = c["label"].toArray();
        item.label = -1;
        for (int i = 0; i < labels.size(); ++i)
            if (labels[i].toString() == o["answerKey"].toString())
                item.label = i;
        if (item.label < 0)
            throw Error(where + ": answerKey '" + str(o["answerKey"]) + "' is not one of the choices' labels");
    } else if (o.contains("sentence") && o.contains("option1")) { // WinoGrande, partial scoring
        const std::string s = str(o["sentence"]);
        const auto blank = s.find('_');
        if (blank == std::string::npos)
            throw Error(where + ": the sentence has no '_' blank");
        for (const char* k : {"option1", "option2"})
            item.choices.push_back({s.substr(0, blank) + str(o[k]), " " + s.substr(blank + 1 + (s.size() > blank + 1 && s[blank + 1] == ' ' ? 1 : 0))});
        item.label = labelOf(o["answer"], where) - 1;
    } else
        throw Error(where + ": not a task item (expected {\"context\", \"choices\", \"label\"} or the HellaSwag, PIQA, ARC, WinoGrande fields)");
    if (item.choices.size() < 2)
        throw Error(where + ": an item needs at least two choices");
    if (item.label < 0 || item.label >= int(item.choices.size()))
        throw Error(where + ": label " + std::to_string(item.label) + " is not one of the " + std::to_string(item.choices.size()) + " choices");
    return item;
}

int64_t characters(const std::string& s)
{
    return QString::fromStdString(s).toUcs4().size();
}
} // namespace

std::vector<McItem> readTaskFile(const std::string& path)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        throw Error(path + ": cannot open the task file");
    std::vector<McItem> items;
    int line = 0;
    while (!f.atEnd()) {
        const QByteArray raw = f.readLine().trimmed();
        ++line;
        if (raw.isEmpty())
            continue;
        const std::string where = path + ":" + std::to_string(line);
        QJsonParseError err;
        const QJsonDocument d = QJsonDocument::fromJson(raw, &err);
        if (err.error != QJsonParseError::NoError || !d.isObject())
            throw Error(where + ": not a JSON object (" + err.errorString().toStdString() + ")");
        McItem item = parseItem(d.object(), where);
        item.line = line;
        items.push_back(std::move(item));
    }
    if (items.empty())
        throw Error(path + ": no task items");
    return items;
}

double continuationLogLikelihood(const Model& model, const std::vector<int32_t>& ctx, const std::vector<int32_t>& whole,
                                 const std::vector<int>& dropBlocks)
{
    at::NoGradGuard guard;
    const int64_t n = int64_t(whole.size()), c = int64_t(ctx.size());
    std::vector<int64_t> ids(whole.begin(), whole.end());
    const at::Tensor t = at::tensor(ids, at::kLong).view({1, n});
    const RopeTable rope = makeRope(model.config(), n);
    at::Tensor h = runBlocks(model, model.embed(t), 0, model.nBlocks(), rope, blockSkipMask(model, dropBlocks));
    // positions c-1 .. n-2 predict the continuation's tokens c .. n-1
    const at::Tensor x = rmsNorm(h.narrow(1, c - 1, n - c), model.finalNorm(), model.config().rms_norm_eps).squeeze(0);
    const at::Tensor lp = at::log_softmax(at::linear(x, model.lmHead()).to(at::kDouble), -1);
    return lp.gather(-1, t.narrow(1, c, n - c).view({-1, 1})).sum().item<double>();
}

McResult evaluateTask(const Model& model, const Tokenizer& tok, const std::vector<McItem>& all, const McOptions& opt,
                      const std::string& what, const ProgressFn& progress)
{
    const std::size_t count = opt.max_items > 0 ? std::min<std::size_t>(std::size_t(opt.max_items), all.size()) : all.size();
    McResult r;
    double hit = 0, hitNorm = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const McItem& item = all[i];
        std::vector<double> ll;
        int best = 0, bestNorm = 0;
        double bestNormValue = 0;
        for (std::size_t k = 0; k < item.choices.size(); ++k) {
            const McChoice& c = item.choices[k];
            // lm-evaluation-harness: trailing spaces of the context move to the continuation
            std::string context = c.context, continuation = c.continuation;
            while (!context.empty() && context.back() == ' ') {
                context.pop_back();
                continuation.insert(continuation.begin(), ' ');
            }
            const std::vector<int32_t> ctxIds = tok.encode(context), whole = tok.encode(context + continuation);
            // as lm-evaluation-harness splits: the continuation is what the whole encoding adds after len(context)
            if (ctxIds.empty() || whole.size() <= ctxIds.size())
                throw Error(what + ":" + std::to_string(item.line) + ": choice " + std::to_string(k + 1) + " adds no tokens to the context");
            ll.push_back(continuationLogLikelihood(model, ctxIds, whole, opt.drop_blocks));
            const double norm = ll.back() / double(std::max<int64_t>(1, characters(continuation)));
            if (ll.back() > ll[std::size_t(best)])
                best = int(k);
            if (k == 0 || norm > bestNormValue) {
                bestNormValue = norm;
                bestNorm = int(k);
            }
        }
        hit += best == item.label;
        hitNorm += bestNorm == item.label;
        r.loglik.push_back(std::move(ll));
        reportProgress(progress, double(i + 1) / double(count), "task item " + std::to_string(i + 1) + " / " + std::to_string(count));
    }
    r.items = int64_t(count);
    const double n = double(count);
    r.acc = hit / n;
    r.acc_norm = hitNorm / n;
    r.acc_stderr = count > 1 ? std::sqrt(r.acc * (1 - r.acc) / (n - 1)) : 0;
    r.acc_norm_stderr = count > 1 ? std::sqrt(r.acc_norm * (1 - r.acc_norm) / (n - 1)) : 0;
    return r;
}

} // namespace tailor
