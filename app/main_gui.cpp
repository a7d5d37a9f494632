// tailor: the workbench. With no argument it opens the bundled demo model, so a
// newcomer's first screen is a working workbench.
#include "ui/main_window.h"
#include "ui/resource_paths.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Tailor");
    QApplication::setApplicationName("Tailor");
    QApplication::setApplicationVersion(TAILOR_VERSION); // CMakeLists.txt project(VERSION): one version number
    QApplication::setWindowIcon(QIcon(":/icons/tailor.svg"));
    QCommandLineParser parser;
    parser.setApplicationDescription("Tailor: cut large language models to fit");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("model", "Hugging Face model folder (default: the bundled demo model)");
    parser.process(app);
    tailor::ui::MainWindow w;
    w.show();
    const QStringList args = parser.positionalArguments();
    w.openModel(args.isEmpty() ? tailor::ui::demoModelDir() : args.first());
    return app.exec();
}
