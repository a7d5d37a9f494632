#include "compression_plan.h"

#include <regex>
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/lowrank/factorize.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"
#include "core/quant/quant_scheme.h"
#include "core/formats/gguf/gguf_mixture.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace tailor {

std::optional<QuantScheme> PlanQuant::schemeFor(const std::string& tensor) const
{
    if (rules.empty()) {
        if (layers.empty() || std::regex_search(tensor, std::regex(layers)))
            return scheme;
        return std::nullopt;
    }
    for (const auto& r : rules)
        if (r.layers.empty() || std::regex_search(tensor, std::regex(r.layers)))
            return r.scheme;
    return std::nullopt;
}

CompressionPlan CompressionPlan::fromJson(const QJsonObject& o, const std::string& label)
{
    CompressionPlan p;
    if (!o.value("model").isString())
        throw Error(label + ": key 'model' (the model directory) is missing or not a string");
    p.model = o.value("model").toString().toStdString();
    p.calib = o.value("calib").toString().toStdString();
    if (o.contains("drop_blocks")) {
        if (!o.value("drop_blocks").isArray())
            throw Error(label + ": key 'drop_blocks' must be a list of block indexes");
        for (const auto& v : o.value("drop_blocks").toArray()) {
            if (!v.isDouble())
                throw Error(label + ": 'drop_blocks' holds a value that is not a block index");
            p.drop_blocks.push_back(v.toInt());
        }
    }
    if (o.contains("ranks")) {
        const QJsonObject r = o.value("ranks").toObject();
        for (auto it = r.begin(); it != r.end(); ++it) {
            if (!it.value().isDouble())
                throw Error(label + ": rank of '" + it.key().toStdString() + "' is not a number");
            p.ranks[it.key().toStdString()] = int64_t(it.value().toDouble());
        }
        p.whiten = o.value("whiten").toBool(false);
    }
    if (o.contains("quant")) {
        const QJsonObject q = o.value("quant").toObject();
        PlanQuant pq;
        try {
            pq.method = quantMethodFromName(q.value("method").toString("rtn").toStdString());
        } catch (const Error& e) {
            throw Error(label + ": quant " + e.what());
        }
        pq.act_order = q.value("act_order").toBool(false);
        pq.layers = q.value("layers").toString().toStdString();
        pq.imatrix = q.value("imatrix").toString().toStdString();
        if (q.contains("rules")) {
            if (!q.value("rules").isArray() || q.value("rules").toArray().isEmpty())
                throw Error(label + ": quant 'rules' must be a non-empty list of {\"layers\": REGEX, \"scheme\": NAME}");
            int i = 0;
            for (const auto& v : q.value("rules").toArray()) {
                const QJsonObject r = v.toObject();
                PlanQuantRule rule{r.value("layers").toString().toStdString(), {}};
                try {
                    rule.scheme = QuantScheme::parse(r.value("scheme").toString().toStdString());
                } catch (const Error& e) {
                    throw Error(label + ": quant rule " + std::to_string(i) + ": " + e.what());
                }
                pq.rules.push_back(rule);
                ++i;
            }
        } else {
            try {
                pq.scheme = QuantScheme::parse(q.value("scheme").toString().toStdString());
            } catch (const Error& e) {
                throw Error(label + ": quant 'scheme': " + e.what());
            }
        }
        p.quant = pq;
    }
    if (o.contains("heal")) {
        if (!o.value("heal").isObject())
            throw Error(label + ": key 'heal' must be an object of healing settings");
        const QJsonObject h = o.value("heal").toObject();
        if (!h.value("text").isString())
            throw Error(label + ": 'heal' needs 'text', the file to train on");
        p.heal = PlanHeal{h.value("text").toString().toStdString(), HealOptions::fromJson(h, label)};
    }
    if (o.contains("gguf")) {
        if (!o.value("gguf").isObject())
            throw Error(label + ": key 'gguf' must be an object {\"type\", \"imatrix\", \"tensor_types\"}");
        const QJsonObject g = o.value("gguf").toObject();
        PlanGguf pg;
        pg.type = g.value("type").toString().toStdString();
        pg.imatrix = g.value("imatrix").toString().toStdString();
        if (!pg.type.empty())
            gguf::mixture(pg.type); // validates the name
        for (const QJsonValue& v : g.value("tensor_types").toArray()) {
            if (!v.isString())
                throw Error(label + ": gguf.tensor_types holds strings \"REGEX=TYPE\"");
            gguf::parseTypeOverride(v.toString().toStdString());
            pg.tensor_types.push_back(v.toString().toStdString());
        }
        p.gguf = pg;
    }
    if (o.contains("width")) {
        const QJsonObject w = o.value("width").toObject();
        const auto lists = [&](const char* key) {
            std::vector<std::vector<int>> out;
            if (!w.value(key).isArray())
                throw Error(label + ": 'width' needs '" + key + "', a list per block of removed units");
            for (const QJsonValue& block : w.value(key).toArray()) {
                if (!block.isArray())
                    throw Error(label + ": width." + key + " holds one list of unit indexes per block");
                std::vector<int> units;
                for (const QJsonValue& u : block.toArray()) {
                    if (!u.isDouble() || u.toDouble() != double(u.toInt()))
                        throw Error(label + ": width." + key + " holds a value that is not a unit index");
                    units.push_back(u.toInt());
                }
                out.push_back(units);
            }
            return out;
        };
        WidthPlan wp;
        wp.groups = lists("groups");
        wp.channels = lists("channels");
        p.width = wp;
        p.width_criterion = w.value("criterion").toString().toStdString();
    }
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
        o["whiten"] = whiten;
    }
    if (quant) {
        QJsonObject q{{"method", quantMethodName(quant->method)}};
        if (quant->act_order)
            q["act_order"] = true;
        if (quant->rules.empty()) {
            q["scheme"] = QString::fromStdString(quant->scheme.name());
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
    if (width) {
        const auto lists = [](const std::vector<std::vector<int>>& v) {
            QJsonArray a;
            for (const auto& block : v) {
                QJsonArray b;
                for (int u : block)
                    b.append(u);
                a.append(b);
            }
            return a;
        };
        o["width"] = QJsonObject{{"criterion", QString::fromStdString(width_criterion)},
                                 {"groups", lists(width->groups)},
                                 {"channels", lists(width->channels)}};
    }
    if (heal) {
        QJsonObject h = heal->options.toJson();
        h["text"] = QString::fromStdString(heal->text);
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
}

} // namespace tailor
