package io.pgferry.agent.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How to reach the PostgreSQL beside the agent.
 *
 * @param host an address or name, or an absolute directory holding the server's unix socket
 * @param password empty when the server needs none (trust, peer) or the driver finds one in ~/.pgpass
 * @param passwordFile where the password came from, for messages only
 */
public record PostgresConfig(String host, int port, String user, Optional<Secret> password,
                             Optional<Path> passwordFile, String database) {

    public boolean viaUnixSocket() {
        return host.startsWith("/");
    }
}
