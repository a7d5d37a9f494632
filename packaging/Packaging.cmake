# Installation layout and a .deb through CPack:
#   cmake --build build --target package   ->  build/tailor_<version>_amd64.deb
# The package depends on Debian's runtime packages only.
include(GNUInstallDirs)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/resources/models ${CMAKE_SOURCE_DIR}/resources/data
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tailor)
install(FILES ${CMAKE_SOURCE_DIR}/resources/NOTICE.md DESTINATION ${CMAKE_INSTALL_DATADIR}/tailor)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/tailor.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${CMAKE_SOURCE_DIR}/resources/icons/tailor.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "tailor")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Tailor developers <tailor@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Workbench that cuts large language models to fit")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libqt6widgets6, libqt6concurrent6, libqt6printsupport6, libqcustomplot2.1-qt6, libtorch1.13, libopenblas0-openmp")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
include(CPack)
