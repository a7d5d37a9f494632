// tailor-cli tokenize (MODEL_DIR | TOKENIZER_DIR) (--text FILE | --string S | --text-list FILE) [--json]
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/util/error.h"
#include "core/model/model_session.h"
#include "core/tokenizer/tokenizer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <cstdio>

namespace tailor::cli {

namespace {
QJsonArray idsJson(const std::vector<int32_t>& ids)
{
    QJsonArray a;
    for (auto id : ids)
        a.append(id);
    return a;
}
} // namespace

int cmdTokenize(const Argv& argv)
{
    const Args args(argv, commandSpec("tokenize"));
    const auto tok = Tokenizer::load(args.positional(0, "MODEL_DIR or TOKENIZER_DIR"));
    const int sources = int(args.has("text")) + int(args.has("string")) + int(args.has("text-list"));
    if (sources != 1)
        throw UsageError("give exactly one of --text FILE, --string S, --text-list FILE");
    if (args.has("text-list")) {
        const std::string path = args.get("text-list");
        QJsonParseError err{};
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(readTextFile(path)), &err);
        if (err.error != QJsonParseError::NoError || !doc.isArray())
            throw Error(path + ": not a JSON array of strings");
        QJsonArray all;
        for (const auto& v : doc.array()) {
            if (!v.isString())
                throw Error(path + ": not a JSON array of strings");
            all.append(idsJson(tok->encode(v.toString().toStdString())));
        }
        printJson(QJsonObject{{"ids", all}});
        return 0;
    }
    const std::string text = args.has("text") ? readTextFile(args.get("text")) : args.get("string");
    const auto ids = tok->encode(text);
    if (args.flag("json")) {
        QJsonArray tokens;
        for (auto id : ids)
            tokens.append(QString::fromStdString(tok->tokenText(id)));
        printJson(QJsonObject{{"ids", idsJson(ids)}, {"tokens", tokens}});
    } else {
        for (std::size_t i = 0; i < ids.size(); ++i)
            std::printf("%s%d", i ? " " : "", ids[i]);
        std::printf("\n");
    }
    return 0;
}

} // namespace tailor::cli
