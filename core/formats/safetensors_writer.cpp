#include "safetensors_writer.h"
#include "core/util/error.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QString>
#include <cerrno>
#include <cstring>

namespace tailor {

namespace {

std::string jsonString(const std::string& s)
{
    // QJsonDocument escapes correctly; strip the surrounding array brackets.
    const QByteArray a = QJsonDocument(QJsonArray{QString::fromStdString(s)}).toJson(QJsonDocument::Compact);
    return a.mid(1, a.size() - 2).toStdString();
}

} // namespace

std::string safetensorsHeader(const std::vector<TensorToWrite>& tensors,
                              const std::map<std::string, std::string>& metadata)
{
    std::string json = "{";
    bool first = true;
    if (!metadata.empty()) {
        json += "\"__metadata__\":{";
        bool f = true;
        for (const auto& [k, v] : metadata) {
            json += (f ? "" : ",") + jsonString(k) + ":" + jsonString(v);
            f = false;
        }
        json += "}";
        first = false;
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        uint64_t numel = 1;
        std::string shape = "[";
        for (std::size_t i = 0; i < t.shape.size(); ++i) {
            numel *= uint64_t(t.shape[i]);
            shape += (i ? "," : "") + std::to_string(t.shape[i]);
        }
        shape += "]";
        if (numel * dtypeSize(t.dtype) != t.bytes)
            throw Error("tensor '" + t.name + "': " + std::to_string(t.bytes) + " bytes do not match its shape");
        json += (first ? "" : ",") + jsonString(t.name) + ":{\"dtype\":\"" + dtypeName(t.dtype) +
                "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(offset) + "," +
                std::to_string(offset + t.bytes) + "]}";
        offset += t.bytes;
        first = false;
    }
    json += "}";
    while ((json.size() + 8) % 8 != 0)
        json += ' ';
    std::string out(8, '\0');
    uint64_t n = json.size();
    for (int i = 0; i < 8; ++i)
        out[i] = char((n >> (8 * i)) & 0xff);
    return out + json;
}

void writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    const std::string header = safetensorsHeader(tensors, metadata);
    QSaveFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::WriteOnly))
        throw Error(path + ": cannot write: " + f.errorString().toStdString());
    auto write = [&](const void* p, uint64_t n) {
        const char* c = static_cast<const char*>(p);
        while (n > 0) {
            const qint64 chunk = qint64(std::min<uint64_t>(n, uint64_t(1) << 30));
            if (f.write(c, chunk) != chunk)
                throw Error(path + ": write failed: " + std::strerror(errno) + " (disk full?)");
            c += chunk;
            n -= uint64_t(chunk);
        }
    };
    write(header.data(), header.size());
    for (const auto& t : tensors)
        write(t.data, t.bytes);
    if (!f.commit())
        throw Error(path + ": could not complete the write: " + f.errorString().toStdString());
}

} // namespace tailor
