#include "safetensors_reader.h"
#include "core/util/error.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tailor {

int64_t TensorInfo::numel() const
{
    int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

namespace {


} // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path)
{
    std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->path_ = path;
    const std::string file = path; // the whole path: the user may have several models open
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    f->size_ = static_cast<uint64_t>(st.st_size);
    if (f->size_ < 8) {
        ::close(fd);
        throw Error(file + ": truncated: " + std::to_string(f->size_) +
                    " bytes, a safetensors file has at least an 8-byte header length");
    }
    void* m = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED)
        throw Error(path + ": mmap failed: " + std::strerror(errno));
    f->map_ = m;

    const auto* base = static_cast<const unsigned char*>(m);
    uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i)
        headerLen = (headerLen << 8) | base[i];
    if (headerLen > kMaxHeaderBytes)
        throw Error(file + ": header length " + std::to_string(headerLen) +
                    " bytes exceeds the 100 MB limit");
    if (headerLen > f->size_ - 8)
        throw Error(file + ": header length " + std::to_string(headerLen) +
                    " bytes runs past the end of the file (" + std::to_string(f->size_) +
                    " bytes): truncated or not a safetensors file");
    try {
        f->parseHeader(reinterpret_cast<const char*>(base + 8), headerLen, 8 + headerLen);
    } catch (const Error& e) {
        throw Error(file + ": " + e.what());
    }
    return f;
}

SafetensorsFile::~SafetensorsFile()
{
    if (map_)
        munmap(map_, size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const
{
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

bool isUnsignedInt(const QJsonValue& v)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    return d >= 0 && d <= 9.0e15 && d == static_cast<double>(static_cast<int64_t>(d));
}

} // namespace

void SafetensorsFile::parseHeader(const char* json, uint64_t len, uint64_t dataStart)
{
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromRawData(json, int(len)), &err);
    if (err.error != QJsonParseError::NoError)
        throw Error("header is not valid JSON at byte " + std::to_string(err.offset) + ": " +
                    err.errorString().toStdString());
    if (!doc.isObject())
        throw Error("header is not a JSON object");
    const uint64_t dataSize = size_ - dataStart;
    const QJsonObject root = doc.object();
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string name = it.key().toStdString();
        if (name == "__metadata__") {
            if (!it.value().isObject())
                throw Error("__metadata__ is not an object");
            const QJsonObject md = it.value().toObject();
            for (auto m = md.begin(); m != md.end(); ++m) {
                if (!m.value().isString())
                    throw Error("__metadata__ value '" + m.key().toStdString() + "' is not a string");
                metadata_[m.key().toStdString()] = m.value().toString().toStdString();
            }
            continue;
        }
        const std::string where = "tensor '" + name + "'";
        if (!it.value().isObject())
            throw Error(where + ": entry is not an object");
        const QJsonObject t = it.value().toObject();
        TensorInfo info;
        info.name = name;
        if (!t.value("dtype").isString())
            throw Error(where + ": missing or non-string 'dtype'");
        const std::string dt = t.value("dtype").toString().toStdString();
        auto dtype = dtypeFromSafetensors(dt);
        if (!dtype)
            throw Error(where + ": unknown dtype '" + dt + "'");
        info.dtype = *dtype;
        if (!t.value("shape").isArray())
            throw Error(where + ": missing or non-array 'shape'");
        uint64_t numel = 1;
        for (const auto& d : t.value("shape").toArray()) {
            if (!isUnsignedInt(d))
                throw Error(where + ": shape holds a value that is not a non-negative integer");
            const uint64_t dim = static_cast<uint64_t>(d.toDouble());
            if (dim != 0 && numel > (uint64_t(1) << 62) / dim)
                throw Error(where + ": shape overflows");
            numel *= dim;
            info.shape.push_back(static_cast<int64_t>(dim));
        }
        const QJsonArray offs = t.value("data_offsets").toArray();
        if (!t.value("data_offsets").isArray() || offs.size() != 2 || !isUnsignedInt(offs[0]) ||
            !isUnsignedInt(offs[1]))
            throw Error(where + ": 'data_offsets' must be two non-negative integers");
        const uint64_t b = static_cast<uint64_t>(offs[0].toDouble());
        const uint64_t e = static_cast<uint64_t>(offs[1].toDouble());
        if (e < b)
            throw Error(where + ": data_offsets end " + std::to_string(e) + " is before begin " +
                        std::to_string(b));
        if (e > dataSize)
            throw Error(where + ": data [" + std::to_string(b) + ", " + std::to_string(e) +
                        ") is outside the data section (" + std::to_string(dataSize) +
                        " bytes): file truncated or corrupted");
        const uint64_t expected = numel * dtypeSize(info.dtype);
        if (e - b != expected)
            throw Error(where + ": byte span " + std::to_string(e - b) + " does not match shape x " +
                        dt + " = " + std::to_string(expected) + " bytes");
        info.offset = dataStart + b;
        info.bytes = e - b;
        info.data = static_cast<const char*>(map_) + info.offset;
        if (index_.count(name))
            throw Error(where + ": duplicate tensor name");
        index_[name] = tensors_.size();
        tensors_.push_back(std::move(info));
    }
    // Overlap check on the sorted spans (empty tensors cannot overlap anything).
    std::vector<const TensorInfo*> sorted;
    for (const auto& t : tensors_)
        if (t.bytes > 0)
            sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i]->offset < sorted[i - 1]->offset + sorted[i - 1]->bytes)
            throw Error("tensor '" + sorted[i]->name + "' overlaps tensor '" + sorted[i - 1]->name +
                        "' in the data section");
}

} // namespace tailor
