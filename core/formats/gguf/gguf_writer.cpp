#include "gguf_writer.h"
#include "core/util/error.h"

#include <QFileInfo>
#include <QSaveFile>
#include <cerrno>
#include <cstring>

namespace tailor::gguf {

namespace {
template <class T>
void put(QByteArray& b, T v) // GGUF is little-endian, as is every machine Tailor runs on
{
    b.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void putString(QByteArray& b, const std::string& s)
{
    put<uint64_t>(b, s.size());
    b.append(s.data(), qsizetype(s.size()));
}
} // namespace

void Writer::key(const std::string& k, ValueType t)
{
    putString(kv_, k);
    put<uint32_t>(kv_, uint32_t(t));
    ++kvCount_;
}

void Writer::addString(const std::string& k, const std::string& v)
{
    key(k, ValueType::String);
    putString(kv_, v);
}

void Writer::addUInt32(const std::string& k, uint32_t v)
{
    key(k, ValueType::UInt32);
    put(kv_, v);
    if (k == "general.alignment") {
        if (v == 0 || (v & (v - 1)) != 0)
            throw Error("general.alignment must be a power of two");
        alignment_ = v;
    }
}

void Writer::addInt32(const std::string& k, int32_t v)
{
    key(k, ValueType::Int32);
    put(kv_, v);
}

void Writer::addFloat32(const std::string& k, float v)
{
    key(k, ValueType::Float32);
    put(kv_, v);
}

void Writer::addBool(const std::string& k, bool v)
{
    key(k, ValueType::Bool);
    put<uint8_t>(kv_, v ? 1 : 0);
}

void Writer::addStringArray(const std::string& k, const std::vector<std::string>& v)
{
    key(k, ValueType::Array);
    put<uint32_t>(kv_, uint32_t(ValueType::String));
    put<uint64_t>(kv_, v.size());
    for (const auto& s : v)
        putString(kv_, s);
}

void Writer::addFloat32Array(const std::string& k, const std::vector<float>& v)
{
    key(k, ValueType::Array);
    put<uint32_t>(kv_, uint32_t(ValueType::Float32));
    put<uint64_t>(kv_, v.size());
    kv_.append(reinterpret_cast<const char*>(v.data()), qsizetype(v.size() * sizeof(float)));
}

void Writer::addInt32Array(const std::string& k, const std::vector<int32_t>& v)
{
    key(k, ValueType::Array);
    put<uint32_t>(kv_, uint32_t(ValueType::Int32));
    put<uint64_t>(kv_, v.size());
    kv_.append(reinterpret_cast<const char*>(v.data()), qsizetype(v.size() * sizeof(int32_t)));
}

void Writer::addTensor(const std::string& name, const std::vector<int64_t>& ne, TensorType type, std::function<QByteArray()> data)
{
    if (ne.empty() || ne.size() > 4)
        throw Error("GGUF tensor '" + name + "': 1 to 4 dimensions");
    if (ne[0] % blockSize(type) != 0)
        throw Error("GGUF tensor '" + name + "': " + typeName(type) + " needs rows of a multiple of " +
                    std::to_string(blockSize(type)) + " elements, not " + std::to_string(ne[0]));
    int64_t rows = 1;
    for (std::size_t i = 1; i < ne.size(); ++i)
        rows *= ne[i];
    tensors_.push_back(Tensor{name, ne, type, rowBytes(type, ne[0]) * rows, std::move(data)});
}

QByteArray Writer::header() const
{
    QByteArray head;
    put<uint32_t>(head, kMagic);
    put<uint32_t>(head, kVersion);
    put<uint64_t>(head, tensors_.size());
    put<uint64_t>(head, kvCount_);
    head += kv_;
    const auto pad = [this](uint64_t n) { return (alignment_ - n % alignment_) % alignment_; };
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        putString(head, t.name);
        put<uint32_t>(head, uint32_t(t.ne.size()));
        for (int64_t d : t.ne)
            put<uint64_t>(head, uint64_t(d));
        put<uint32_t>(head, uint32_t(t.type));
        put<uint64_t>(head, offset);
        offset += uint64_t(t.bytes) + pad(uint64_t(t.bytes));
    }
    head.append(qsizetype(pad(uint64_t(head.size()))), '\0');
    return head;
}

uint64_t Writer::fileSize() const
{
    const auto pad = [this](uint64_t n) { return (alignment_ - n % alignment_) % alignment_; };
    uint64_t size = uint64_t(header().size());
    for (const auto& t : tensors_)
        size += uint64_t(t.bytes) + pad(uint64_t(t.bytes));
    return size;
}

void Writer::write(const std::string& path, bool force, const ProgressFn& progress) const
{
    const QString qpath = QString::fromStdString(path);
    if (QFileInfo::exists(qpath) && !force)
        throw Error(path + ": exists; pass --force to replace it");
    const QByteArray head = header();
    const auto pad = [this](uint64_t n) { return (alignment_ - n % alignment_) % alignment_; };

    QSaveFile f(qpath);
    if (!f.open(QIODevice::WriteOnly))
        throw Error(path + ": cannot write (" + f.errorString().toStdString() + ")");
    auto writeAll = [&](const QByteArray& b) {
        if (f.write(b) != b.size())
            throw Error(path + ": write failed (" + std::string(std::strerror(errno)) + "; disk full?); nothing was written");
    };
    writeAll(head);
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
        const auto& t = tensors_[i];
        const QByteArray bytes = t.data();
        if (bytes.size() != t.bytes)
            throw Error("GGUF tensor '" + t.name + "': " + std::to_string(bytes.size()) + " bytes given, " +
                        std::to_string(t.bytes) + " expected");
        writeAll(bytes);
        writeAll(QByteArray(qsizetype(pad(uint64_t(t.bytes))), '\0'));
        reportProgress(progress, double(i + 1) / double(tensors_.size()), "writing " + t.name);
    }
    if (!f.commit())
        throw Error(path + ": could not finish writing (" + f.errorString().toStdString() + "); nothing was written");
}

} // namespace tailor::gguf
