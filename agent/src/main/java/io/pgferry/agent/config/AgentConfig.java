package io.pgferry.agent.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The merged, validated configuration: config file, then PGFERRY_* environment, then command-line flags.
 *
 * @param token read from {@code tokenFile} at load time; {@link Secret} keeps it out of toString
 * @param pgBinDir empty means detect it once the server's major version is known
 * @param tls empty means plain HTTP (loopback only, unless {@code allowPlainHttp})
 * @param archiveKey signs and authenticates schema archives; empty means this agent neither makes nor accepts them
 * @param allowPlainHttp the operator's word that plain HTTP beyond loopback crosses only a trusted network
 */
public record AgentConfig(String listenAddress, int listenPort, Path tokenFile, Secret token,
                          PostgresConfig postgres, Optional<Path> pgBinDir, Path stateDir, LogFormat logFormat,
                          Optional<TlsConfig> tls, Optional<Path> archiveKeyFile, Optional<Secret> archiveKey,
                          boolean allowPlainHttp) {
}
