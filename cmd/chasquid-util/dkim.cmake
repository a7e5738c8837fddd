# dkim-keygen, dkim-dns, dkim-sign, dkim-verify (dkim_cmds.cc).
target_link_libraries(chasquid-util PRIVATE chasquid_dkim chasquid_dns
                      chasquid_smtp)
