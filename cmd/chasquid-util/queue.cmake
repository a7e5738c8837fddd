target_link_libraries(chasquid-util PRIVATE chasquid_localrpc Boost::json)
