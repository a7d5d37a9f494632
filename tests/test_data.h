#pragma once
// Paths of the fixtures shipped in the repository and a reader for the golden
// figures (produced by an independent PyTorch implementation, see
// tests/data/golden/PROVENANCE.md).
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <string>
#include <vector>

namespace testdata {

inline QString root() { return QStringLiteral(TAILOR_TEST_DATA); }
inline QString resources() { return QStringLiteral(TAILOR_RESOURCES); }
inline std::string stories260K() { return (root() + "/models/stories260K").toStdString(); }
inline std::string tinystories12L() { return (resources() + "/models/tinystories-12L").toStdString(); }
inline std::string validText() { return (resources() + "/data/tinystories-valid-99.txt").toStdString(); }
inline std::string calibText() { return (resources() + "/data/tinystories-calib-50.txt").toStdString(); }

inline QJsonDocument readJson(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot open %s", qPrintable(path));
    return QJsonDocument::fromJson(f.readAll());
}

inline QJsonObject golden(const QString& model)
{
    return readJson(root() + "/golden/" + model + ".goldens.json").object();
}

inline std::vector<int32_t> goldenIds(const QString& name)
{
    std::vector<int32_t> ids;
    const QJsonDocument d = readJson(root() + "/golden/" + name + ".tok512-ids.json");
    const QJsonArray a = d.isArray() ? d.array() : d.object().value("ids").toArray();
    for (const auto& v : a)
        ids.push_back(int32_t(v.toInt()));
    return ids;
}

inline std::vector<double> toDoubles(const QJsonValue& v)
{
    std::vector<double> out;
    for (const auto& x : v.toArray())
        out.push_back(x.toDouble());
    return out;
}

inline double relErr(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

// True when f() throws E. (Qt 6.4's QVERIFY_THROWS_EXCEPTION does not compile
// next to libtorch's headers.)
template <class E, class F>
bool throwsA(F&& f)
{
    try {
        f();
    } catch (const E&) {
        return true;
    } catch (...) {
        return false;
    }
    return false;
}

// The message of the std::exception f throws, or "" when it throws nothing:
// bad-input tests check that the message names what is wrong.
template <class F>
std::string errorOf(F&& f)
{
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

} // namespace testdata
