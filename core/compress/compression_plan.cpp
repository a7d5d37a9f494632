#include "compression_plan.h"
#include "core/analysis/expert_routing.h"
#include "core/compress/expert_prune.h"
#include "core/model/checkpoint.h"

#include <QFileInfo>

#include <map>
#include <mutex>
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/util/json_reader.h"
#include "core/util/name_pattern.h"
#include "core/lowrank/factorize.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"
#include "core/quant/quant_scheme.h"
#include "core/formats/gguf/gguf_mixture.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace tailor {

bool isPlanFile(const std::string& path)
{
    return QFileInfo(QString::fromStdString(path)).isFile() && !Checkpoint::isGgufPath(path);
}


std::optional<QuantScheme> PlanQuant::schemeFor(const std::string& tensor) const
{
    if (rules.empty()) {
        if (layers.empty() || nameMatches(layers, tensor))
            return scheme;
        return std::nullopt;
    }
    for (const auto& r : rules)
        if (r.layers.empty() || nameMatches(r.layers, tensor))
            return r.scheme;
    return std::nullopt;
}

namespace {

// A regex the plan gives for tensor names, checked where it is read.
std::string readRegex(JsonReader& r, const char* key)
{
    const std::string pattern = r.string(key);
    if (const std::string why = patternError(pattern); !why.empty())
        r.fail(r.keyName(key), why);
    return pattern;
}

QuantScheme readScheme(JsonReader& r, const char* key)
{
    const std::string name = r.requireString(key);
    try {
        return QuantScheme::parse(name);
    } catch (const Error& e) {
        r.fail(r.keyName(key), e.what());
    }
}

PlanQuant readQuant(JsonReader q)
{
    PlanQuant pq;
    const std::string method = q.string("method", "rtn");
    try {
        pq.method = quantMethodFromName(method);
    } catch (const Error& e) {
        q.fail(q.keyName("method"), e.what());
    }
    pq.act_order = q.boolean("act_order", false);
    pq.imatrix = q.string("imatrix");
    if (q.has("rules")) {
        const QJsonArray rules = q.array("rules");
        if (rules.isEmpty())
            q.fail(q.keyName("rules"), "must be a non-empty list of {\"layers\": REGEX, \"scheme\": NAME}");
        for (int i = 0; i < rules.size(); ++i) {
            JsonReader r = q.objectAt(rules[i], q.keyName("rules") + "[" + std::to_string(i) + "]");
            PlanQuantRule rule;
            rule.layers = readRegex(r, "layers");
            rule.scheme = readScheme(r, "scheme");
            r.finish();
            pq.rules.push_back(rule);
        }
        // a single-scheme plan's keys have no meaning beside rules: refuse them rather than drop them
        if (q.has("scheme") || q.has("layers"))
            q.fail(q.keyName(q.has("scheme") ? "scheme" : "layers"), "not used when 'rules' are given");
    } else {
        pq.scheme = readScheme(q, "scheme");
        pq.layers = readRegex(q, "layers");
    }
    q.finish();
    return pq;
}

std::vector<std::vector<int>> readUnitLists(JsonReader& w, const char* key)
{
    if (!w.has(key))
        w.fail(w.keyName(key), "missing (a list per block of removed units)");
    std::vector<std::vector<int>> out;
    const QJsonArray blocks = w.array(key);
    for (int b = 0; b < blocks.size(); ++b) {
        const std::string where = w.keyName(key) + "[" + std::to_string(b) + "]";
        if (!blocks[b].isArray())
            w.fail(where, "expected a list of unit indexes, got " + jsonValueText(blocks[b]));
        std::vector<int> units;
        const QJsonArray a = blocks[b].toArray();
        for (int i = 0; i < a.size(); ++i)
            units.push_back(int(w.integerAt(a[i], where + "[" + std::to_string(i) + "]", 0, INT32_MAX)));
        out.push_back(units);
    }
    return out;
}

} // namespace

QJsonArray intListsJson(const std::vector<std::vector<int>>& lists)
{
    QJsonArray a;
    for (const auto& block : lists) {
        QJsonArray b;
        for (int u : block)
            b.append(u);
        a.append(b);
    }
    return a;
}

CompressionPlan CompressionPlan::fromJson(const QJsonObject& o, const std::string& label)
{
    JsonReader r(o, label);
    CompressionPlan p;
    p.model = r.requireString("model");
    p.calib = r.string("calib");
    p.eval_text = r.string("eval");
    p.task = r.string("task");
    const QJsonArray drops = r.array("drop_blocks");
    for (int i = 0; i < drops.size(); ++i)
        p.drop_blocks.push_back(int(r.integerAt(drops[i], "drop_blocks[" + std::to_string(i) + "]", INT32_MIN, INT32_MAX)));
    if (r.has("ranks")) {
        const JsonReader ranks = r.object("ranks"); // refuses a non-object
        const QJsonObject given = o.value("ranks").toObject();
        for (auto it = given.begin(); it != given.end(); ++it)
            p.ranks[it.key().toStdString()] = ranks.integerAt(it.value(), "ranks." + it.key().toStdString(), 1, INT64_MAX);
    }
    p.whiten = r.boolean("whiten", false);
    if (r.has("quant"))
        p.quant = readQuant(r.object("quant"));
    if (r.has("heal")) {
        JsonReader h = r.object("heal");
        PlanHeal ph;
        ph.text = h.requireString("text");
        ph.method = h.string("method", "lora");
        if (ph.method == "linear") {
            // a fitted map, not training: LoRA's settings have no meaning here and are refused as unknown
            ph.linear.ridge = h.number("ridge", ph.linear.ridge);
            ph.linear.seq_len = h.integer("seq_len", ph.linear.seq_len, 2, 1 << 20);
            ph.linear.max_windows = h.integer("max_windows", ph.linear.max_windows, 0, INT64_MAX);
            h.finish();
            try {
                ph.linear.validate();
            } catch (const Error& e) {
                h.fail(h.keyName("ridge"), e.what());
            }
        } else if (ph.method == "lora" || ph.method == "last-layers") {
            const int64_t layers = ph.method == "last-layers" ? h.integer("layers", -1, 1, INT64_MAX) : 0;
            if (layers < 0)
                h.fail(h.keyName("layers"), "missing: how many of the last kept blocks to heal (an integer >= 1)");
            ph.options = HealOptions::fromJson(h);
            ph.options.last_blocks = layers;
        } else {
            h.fail(h.keyName("method"), "'" + ph.method +
                                            "': 'lora' (train adapters), 'last-layers' (adapters on the last blocks only) or 'linear' (fit a "
                                            "map per dropped span)");
        }
        p.heal = ph;
    }
    if (r.has("gguf")) {
        JsonReader g = r.object("gguf");
        PlanGguf pg;
        pg.type = g.string("type");
        pg.imatrix = g.string("imatrix");
        try {
            if (!pg.type.empty())
                gguf::mixture(pg.type); // validates the name
        } catch (const Error& e) {
            g.fail(g.keyName("type"), e.what());
        }
        const QJsonArray tt = g.array("tensor_types");
        for (int i = 0; i < tt.size(); ++i) {
            const std::string where = g.keyName("tensor_types") + "[" + std::to_string(i) + "]";
            const std::string spec = g.stringAt(tt[i], where);
            try {
                gguf::parseTypeOverride(spec); // the type and the regex
            } catch (const Error& e) {
                g.fail(where, e.what());
            }
            pg.tensor_types.push_back(spec);
        }
        g.finish();
        p.gguf = pg;
    }
    if (r.has("width")) {
        JsonReader w = r.object("width");
        WidthPlan wp;
        wp.groups = readUnitLists(w, "groups");
        wp.channels = readUnitLists(w, "channels");
        p.width_criterion = w.string("criterion");
        w.finish();
        p.width = wp;
    }
    if (r.has("experts")) {
        JsonReader x = r.object("experts");
        PlanExperts pe;
        if (!x.has("keep"))
            x.fail(x.keyName("keep"), "missing (a number of experts per block, or a list per block of the experts kept)");
        if (o.value("experts").toObject().value("keep").isArray())
            pe.keep = readUnitLists(x, "keep");
        else
            pe.keep_count = x.integer("keep", 0, 1, INT32_MAX);
        pe.criterion = x.string("criterion", "freq");
        expertCriterionFromName(pe.criterion); // refuses an unknown one by name
        x.finish();
        if (pe.keep_count > 0 && p.calib.empty())
            r.fail(r.keyName("experts"), "keeps " + std::to_string(pe.keep_count) +
                                             " experts chosen on the calibration text, but the plan has no 'calib'");
        p.experts = pe;
    }
    r.finish();
    return p;
}

CompressionPlan CompressionPlan::fromFile(const std::string& path)
{
    return fromJson(readJsonObject(path, "the plan"), path);
}

QJsonObject CompressionPlan::toJson() const
{
    QJsonObject o{{"model", QString::fromStdString(model)}};
    if (!calib.empty())
        o["calib"] = QString::fromStdString(calib);
    if (!eval_text.empty())
        o["eval"] = QString::fromStdString(eval_text);
    if (!task.empty())
        o["task"] = QString::fromStdString(task);
    if (whiten)
        o["whiten"] = true;
    if (!drop_blocks.empty()) {
        QJsonArray a;
        for (int b : drop_blocks)
            a.append(b);
        o["drop_blocks"] = a;
    }
    if (!ranks.empty()) {
        QJsonObject r;
        for (const auto& [n, k] : ranks)
            r[QString::fromStdString(n)] = double(k);
        o["ranks"] = r;
    }
    if (quant) {
        QJsonObject q{{"method", quantMethodName(quant->method)}};
        if (quant->act_order)
            q["act_order"] = true;
        if (quant->rules.empty()) {
            q["scheme"] = QString::fromStdString(quant->scheme.name());
            if (!quant->layers.empty())
                q["layers"] = QString::fromStdString(quant->layers);
        } else {
            QJsonArray rules;
            for (const auto& r : quant->rules)
                rules.append(QJsonObject{{"layers", QString::fromStdString(r.layers)}, {"scheme", QString::fromStdString(r.scheme.name())}});
            q["rules"] = rules;
        }
        if (!quant->imatrix.empty())
            q["imatrix"] = QString::fromStdString(quant->imatrix);
        o["quant"] = q;
    }
    if (gguf) {
        QJsonArray tt;
        for (const auto& t : gguf->tensor_types)
            tt.append(QString::fromStdString(t));
        o["gguf"] = QJsonObject{{"type", QString::fromStdString(gguf->type)}, {"imatrix", QString::fromStdString(gguf->imatrix)},
                                {"tensor_types", tt}};
    }
    if (width)
        o["width"] = QJsonObject{{"criterion", QString::fromStdString(width_criterion)},
                                 {"groups", intListsJson(width->groups)},
                                 {"channels", intListsJson(width->channels)}};
    if (experts) {
        QJsonObject x{{"criterion", QString::fromStdString(experts->criterion)}};
        x["keep"] = experts->keep.empty() ? QJsonValue(double(experts->keep_count)) : QJsonValue(intListsJson(experts->keep));
        o["experts"] = x;
    }
    if (heal && heal->isLinear()) {
        o["heal"] = QJsonObject{{"method", "linear"},
                                {"text", QString::fromStdString(heal->text)},
                                {"ridge", heal->linear.ridge},
                                {"seq_len", double(heal->linear.seq_len)},
                                {"max_windows", double(heal->linear.max_windows)}};
    } else if (heal) {
        QJsonObject h = heal->options.toJson();
        h["text"] = QString::fromStdString(heal->text);
        if (heal->method == "last-layers") {
            h["method"] = "last-layers";
            h["layers"] = double(heal->options.last_blocks);
        }
        o["heal"] = h;
    }
    return o;
}

void CompressionPlan::save(const std::string& path) const
{
    writeFileAtomically(path, QJsonDocument(toJson()).toJson());
}

void CompressionPlan::validate(const Model& model) const
{
    blockSkipMask(model, drop_blocks); // range, duplicates, not all
    if (width)
        validateWidthPlan(model, *width); // a plan made for another model fails here
    else
        validateRanks(model, ranks); // (with a width stage, factorizeModel checks ranks on the narrower layers)
    if ((!ranks.empty() && whiten) || (quant && quant->method == QuantMethod::Gptq))
        if (calib.empty())
            throw Error("the plan needs 'calib' (a calibration text) for whitened SVD or GPTQ");
    if (heal && heal->isLinear())
        checkLinearHealable(drop_blocks, model.nBlocks()); // a span from block 0 has no block to hold its map
    if (experts && !experts->keep.empty())
        validateExpertKeep(model, experts->keep);
    else if (experts) {
        const ModelConfig& c = model.config();
        if (!c.isMoe())
            throw Error("the plan prunes experts, but this " + c.model_type + " model has none");
        if (experts->keep_count < c.n_expert_used || experts->keep_count > c.n_expert)
            throw Error("the plan keeps " + std::to_string(experts->keep_count) + " experts a block; this model has " +
                        std::to_string(c.n_expert) + " and each token uses " + std::to_string(c.n_expert_used) +
                        ", so keep " + std::to_string(c.n_expert_used) + " to " + std::to_string(c.n_expert));
    }
}

} // namespace tailor
