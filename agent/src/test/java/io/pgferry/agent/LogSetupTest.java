package io.pgferry.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.testbed.AgentFixture;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@code serve} command in its own JVM, with the agent's classpath but not the tests' (whose
 * logback-test.xml would decide instead): log_level filters, and an operator's -Dlogback.configurationFile wins
 * over log_format. PostgreSQL is not needed: the agent warns that it is unreachable and starts anyway, which gives
 * a WARN line and an INFO line to look for.
 */
class LogSetupTest {
    @TempDir
    Path dir;

    @Test
    void logLevelFiltersTheAgentsLines() throws Exception {
        String info = serve(List.of(), "--log-level", "info");
        assertTrue(info.contains("WARN  Agent - PostgreSQL at"), info);
        assertTrue(info.contains("INFO  Agent - pgferry-agent"), info);
        String warn = serve(List.of(), "--log-level", "warn");
        assertTrue(warn.contains("WARN  Agent - PostgreSQL at"), warn);
        assertFalse(warn.contains("INFO"), warn);
    }

    @Test
    void anOperatorsLogbackFileDecidesEverything() throws Exception {
        Path xml = dir.resolve("operator-logback.xml");
        Files.writeString(xml, """
                <configuration>
                  <appender name="E" class="ch.qos.logback.core.ConsoleAppender">
                    <target>System.err</target>
                    <encoder><pattern>OPERATOR %level %msg%n</pattern></encoder>
                  </appender>
                  <root level="INFO"><appender-ref ref="E"/></root>
                </configuration>
                """);
        String out = serve(List.of("-Dlogback.configurationFile=" + xml), "--log-format", "json");
        assertTrue(out.contains("OPERATOR INFO pgferry-agent"), out);
        assertFalse(out.contains("{\"@timestamp\""), "log_format json must not replace the operator's file: " + out);
    }

    /** Runs serve until it answers /v1/health/live (or 90 s), stops it, and returns its output. */
    private String serve(List<String> jvmArgs, String... flags) throws Exception {
        Path token = AgentFixture.secretFile(dir, "token", AgentFixture.newToken());
        Path yaml = dir.resolve("agent.yaml");
        int port = AgentFixture.freePort();
        Files.writeString(yaml, "listen_port: " + port + "\ntoken_file: " + token
                + "\npostgres:\n  port: " + AgentFixture.freePort() + "\nstate_dir: " + dir.resolve("state") + "\n");
        String classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> !p.endsWith("test-classes")).collect(Collectors.joining(File.pathSeparator));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), AgentFixture.jvmOptions(), "-cp", classpath));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("io.pgferry.agent.cli.Main", "serve", "--config", yaml.toString()));
        cmd.addAll(List.of(flags));
        Path err = Files.createTempFile(dir, "stderr", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(err.toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest live = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/health/live"))
                .timeout(Duration.ofSeconds(5)).build();
        try {
            Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
            while (Instant.now().isBefore(deadline) && p.isAlive()) {
                try {
                    if (http.send(live, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        break;
                    }
                } catch (java.io.IOException notYet) {
                    // not listening yet
                }
                Thread.sleep(100);
            }
            Thread.sleep(500);
        } finally {
            p.destroy();
            p.waitFor();
        }
        return Files.readString(err);
    }
}
