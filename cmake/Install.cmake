# `cmake --install`: the tools, man pages, systemd units, and under
# share/chasquid/ the example configuration, the fail2ban filter and jail
# and the Prometheus rules. Paths follow GNUInstallDirs, so with
# --prefix=/usr everything lands where Debian's chasquid package puts it
# (/usr/bin/chasquid, ...). Included at the end of the top CMakeLists.txt,
# once the targets exist.
include(GNUInstallDirs)

# Relative to the prefix unless absolute. Debian's package installs the
# units in /lib/systemd/system (what its chasquid package uses).
set(CHASQUID_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where to install the systemd units")

install(TARGETS chasquid chasquid-util mda-lmtp smtp-check
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES docs/man/chasquid.1 docs/man/chasquid-util.1
              docs/man/mda-lmtp.1 docs/man/smtp-check.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES docs/man/chasquid.conf.5
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

# The service names the daemon by its path: the one this prefix installs.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_SOURCE_DIR}/dist/systemd/chasquid.service)
file(READ ${CMAKE_SOURCE_DIR}/dist/systemd/chasquid.service _unit)
string(REPLACE "ExecStart=/usr/bin/chasquid"
       "ExecStart=${CMAKE_INSTALL_FULL_BINDIR}/chasquid" _unit "${_unit}")
file(WRITE ${CMAKE_BINARY_DIR}/dist/chasquid.service "${_unit}")
install(FILES ${CMAKE_BINARY_DIR}/dist/chasquid.service
              dist/systemd/chasquid-smtp.socket
              dist/systemd/chasquid-submission.socket
              dist/systemd/chasquid-submission_tls.socket
        DESTINATION ${CHASQUID_SYSTEMD_UNIT_DIR})

set(_share ${CMAKE_INSTALL_DATADIR}/chasquid)
# The example /etc/chasquid; a package installs it as its conffiles.
install(FILES dist/etc-chasquid/chasquid.conf dist/etc-chasquid/README
        DESTINATION ${_share}/etc-chasquid)
install(FILES dist/etc-chasquid/certs/README.certs
        DESTINATION ${_share}/etc-chasquid/certs)
install(PROGRAMS dist/etc-chasquid/hooks/post-data
        DESTINATION ${_share}/etc-chasquid/hooks)
install(DIRECTORY DESTINATION ${_share}/etc-chasquid/domains)
install(FILES dist/fail2ban/filter.d/chasquid.conf
        DESTINATION ${_share}/fail2ban/filter.d)
install(FILES dist/fail2ban/jail.d/chasquid.conf
        DESTINATION ${_share}/fail2ban/jail.d)
install(FILES monitoring/prometheus/chasquid-rules.yml
        DESTINATION ${_share}/prometheus)
install(FILES monitoring/grafana/chasquid-dashboard.json
        DESTINATION ${_share}/grafana)
