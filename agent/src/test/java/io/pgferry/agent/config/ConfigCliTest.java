package io.pgferry.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.AgentVersion;
import io.pgferry.agent.cli.Main;
import io.pgferry.agent.testbed.AgentFixture;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The real CLI entry point (picocli) with captured output and a given environment. */
class ConfigCliTest {
    @TempDir
    Path dir;
    Path tokenFile;
    String token;

    record Run(int exit, String out, String err) {
        List<String> errorLines() {
            return err.lines().skip(1).toList();
        }
    }

    @BeforeEach
    void tokenFile() throws IOException {
        token = AgentFixture.newToken();
        tokenFile = AgentFixture.secretFile(dir, "token", token);
    }

    Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine(env);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    Path yaml(String body) throws IOException {
        Path f = dir.resolve("agent.yaml");
        Files.writeString(f, body);
        return f;
    }

    String validBase() {
        return "token_file: " + tokenFile + "\nstate_dir: " + dir.resolve("state") + "\n";
    }

    @Test
    void threeMistakesAreAllReportedWithExit2() throws IOException {
        Path f = yaml(validBase() + """
                listen_port: 99999
                log_format: xml
                listen_adress: 0.0.0.0
                """);
        Run r = run(Map.of(), "check-config", "--config", f.toString());
        assertEquals(2, r.exit(), r.err());
        List<String> lines = r.errorLines();
        assertEquals(3, lines.size(), r.err());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("listen_port: \"99999\"") && l.contains("1 to 65535")),
                r.err());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("log_format: \"xml\"") && l.contains("text or json")),
                r.err());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("listen_adress: unknown key")
                && l.contains("did you mean \"listen_address\"")), r.err());
    }

    @Test
    void missingRequiredSettingsAndBadFilesAreNamed() throws IOException {
        Path open = dir.resolve("open-token");
        Files.writeString(open, token);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        Path f = yaml("""
                postgres:
                  port: nope
                  passwrd_file: /x
                  password: hunter2
                pg_bin_dir: /nonexistent/bin
                """);
        Run r = run(Map.of("PGFERRY_TOKEN_FILE", open.toString()), "check-config", "--config", f.toString());
        assertEquals(2, r.exit(), r.err());
        String err = r.err();
        assertTrue(err.contains("token_file: " + open + " (from env PGFERRY_TOKEN_FILE) has mode rw-r--r--"), err);
        assertTrue(err.contains("chmod 600"), err);
        assertTrue(err.contains("state_dir: not set"), err);
        assertTrue(err.contains("postgres.port: \"nope\""), err);
        assertTrue(err.contains("did you mean \"postgres.password_file\""), err);
        assertTrue(err.contains("postgres.password: not accepted"), err);
        assertTrue(err.contains("pg_bin_dir: /nonexistent/bin"), err);
        assertFalse(err.contains("hunter2"), "a password from the file must not be echoed");
        assertEquals(6, r.errorLines().size(), err);
    }

    @Test
    void envOverridesFileAndFlagOverridesEnv() throws IOException {
        Path f = yaml(validBase() + "listen_port: 7000\nlog_format: text\n");
        Map<String, String> env = Map.of("PGFERRY_LISTEN_PORT", "7100", "PGFERRY_LOG_FORMAT", "json");

        Run fileOnly = run(Map.of(), "check-config", "--config", f.toString());
        assertEquals(0, fileOnly.exit(), fileOnly.err());
        assertTrue(fileOnly.out().contains("listen_port: 7000"), fileOnly.out());

        Run withEnv = run(env, "check-config", "--config", f.toString());
        assertEquals(0, withEnv.exit(), withEnv.err());
        assertTrue(withEnv.out().contains("listen_port: 7100"), withEnv.out());
        assertTrue(withEnv.out().contains("log_format: json"), withEnv.out());

        Run withFlag = run(env, "check-config", "--config", f.toString(), "--listen-port", "7200");
        assertEquals(0, withFlag.exit(), withFlag.err());
        assertTrue(withFlag.out().contains("listen_port: 7200"), withFlag.out());
        assertTrue(withFlag.out().contains("log_format: json"), withFlag.out());
    }

    @Test
    void badFlagValueIsAConfigErrorNamingTheFlag() throws IOException {
        Path f = yaml(validBase());
        Run r = run(Map.of(), "check-config", "--config", f.toString(), "--listen-port", "x");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("listen_port: \"x\" (from flag --listen-port)"), r.err());
    }

    @Test
    void secretsStayOutOfToStringAndOutput() throws Exception {
        String password = "pw-" + AgentFixture.newToken();
        Path f = yaml(validBase());
        AgentConfig config = ConfigLoader.load(f, Map.of("PGFERRY_POSTGRES_PASSWORD", password), List.of());
        assertEquals(password, config.postgres().password().orElseThrow().reveal());
        assertEquals(token, config.token().reveal());
        String text = config.toString();
        assertFalse(text.contains(password), text);
        assertFalse(text.contains(token), text);
        assertTrue(text.contains("<redacted>"), text);

        Run r = run(Map.of("PGFERRY_POSTGRES_PASSWORD", password), "check-config", "--config", f.toString());
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.out().contains(password) || r.out().contains(token), r.out());
        assertTrue(r.out().contains("postgres.password: set"), r.out());
    }

    @Test
    void passwordFileIsReadAndCheckedLikeTheToken() throws Exception {
        Path pw = AgentFixture.secretFile(dir, "pw", "s3cret-value");
        AgentConfig config = ConfigLoader.load(yaml(validBase()),
                Map.of("PGFERRY_POSTGRES_PASSWORD_FILE", pw.toString()), List.of());
        assertEquals("s3cret-value", config.postgres().password().orElseThrow().reveal());

        Files.setPosixFilePermissions(pw, PosixFilePermissions.fromString("rw-r-----"));
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(yaml(validBase()),
                Map.of("PGFERRY_POSTGRES_PASSWORD_FILE", pw.toString()), List.of()));
        assertEquals(1, e.errors().size());
        assertTrue(e.errors().get(0).startsWith("postgres.password_file: " + pw), e.errors().toString());
    }

    @Test
    void defaults() throws Exception {
        AgentConfig c = ConfigLoader.load(yaml(validBase()), Map.of(), List.of());
        assertEquals("127.0.0.1", c.listenAddress());
        assertEquals(7070, c.listenPort());
        assertEquals("127.0.0.1", c.postgres().host());
        assertEquals(5432, c.postgres().port());
        assertEquals("postgres", c.postgres().user());
        assertEquals("postgres", c.postgres().database());
        assertEquals(LogFormat.TEXT, c.logFormat());
        assertTrue(c.pgBinDir().isEmpty());
        assertTrue(c.postgres().password().isEmpty());
        assertFalse(Files.exists(dir.resolve("state")), "check-config and loading change nothing on disk");
    }

    @Test
    void helpVersionAndUsageExitCodes() {
        Run help = run(Map.of(), "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("serve") && help.out().contains("check-config")
                && help.out().contains("warm-up"), help.out());
        for (String cmd : List.of("serve", "check-config", "warm-up", "version")) {
            Run r = run(Map.of(), cmd, "--help");
            assertEquals(0, r.exit(), cmd);
            assertTrue(r.out().startsWith("Usage: pgferry-agent " + cmd), r.out());
        }
        Run version = run(Map.of(), "version");
        assertEquals(0, version.exit());
        assertEquals("pgferry-agent " + AgentVersion.get(), version.out().trim());
        assertFalse(AgentVersion.get().contains("${"), "version resource must be filtered");

        assertEquals(64, run(Map.of(), "serve", "--no-such-flag").exit());
        assertEquals(64, run(Map.of(), "--password", "x").exit());
        assertEquals(64, run(Map.of()).exit());
    }

    @Test
    void warmUpCallsItsOwnApiOnAFreePortAndLeavesNothingBehind() throws IOException {
        Path state = dir.resolve("state");
        Path f = yaml("token_file: " + tokenFile + "\nstate_dir: " + state + "\nlisten_port: 7070\n"
                + "postgres:\n  port: " + AgentFixture.freePort() + "\n");
        Run r = run(Map.of(), "warm-up", "--config", f.toString());
        assertEquals(0, r.exit(), r.err());
        // PostgreSQL is not there: health and info say 503; liveness, metrics, the missing token and the bad body
        // are answered by the agent alone.
        assertEquals("warm-up answers: 503 200 503 200 401 503 400", r.out().trim(), r.out());
        assertFalse(Files.exists(state), "warm-up uses a temporary state directory, not the configured one");

        assertEquals(2, run(Map.of(), "warm-up", "--config", yaml("listen_port: 0\n").toString()).exit());
        assertEquals(64, run(Map.of(), "warm-up", "--no-such-flag").exit());
    }

    @Test
    void serveRefusesAnInvalidConfigWithExit2() throws IOException {
        Run r = run(Map.of(), "serve", "--config", yaml("listen_port: 0\n").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("listen_port"), r.err());
        assertTrue(r.err().contains("token_file: not set"), r.err());
    }

    @Test
    void logLevelComesFromFileThenEnvThenFlagAndABadOneNamesTheChoices() throws IOException {
        Path f = yaml(validBase() + "log_level: warn\n");
        assertTrue(run(Map.of(), "check-config", "--config", f.toString()).out().contains("log_level: warn"));
        Map<String, String> env = Map.of("PGFERRY_LOG_LEVEL", "debug");
        assertTrue(run(env, "check-config", "--config", f.toString()).out().contains("log_level: debug"));
        Run flag = run(env, "check-config", "--config", f.toString(), "--log-level", "ERROR");
        assertTrue(flag.out().contains("log_level: error"), flag.out());
        Run bad = run(Map.of(), "check-config", "--config", f.toString(), "--log-level", "verbose");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("log_level: \"verbose\" (from flag --log-level) is not one of [trace, debug,"
                + " info, warn, error]"), bad.err());
    }

    @Test
    void metricsWithoutTokenOnlyOnALoopbackListener() throws IOException {
        Path f = yaml(validBase() + "metrics_auth: none\n");
        Run loopback = run(Map.of(), "check-config", "--config", f.toString());
        assertEquals(0, loopback.exit(), loopback.err());
        assertTrue(loopback.out().contains("metrics_auth: none"), loopback.out());
        assertTrue(run(Map.of(), "check-config", "--config", f.toString(), "--listen-address", "::1").exit() == 0);
        Run open = run(Map.of(), "check-config", "--config", f.toString(), "--listen-address", "0.0.0.0");
        assertEquals(2, open.exit(), open.out());
        assertTrue(open.err().contains("metrics_auth: none (from config file " + f + ") is allowed only when"
                + " listen_address is a loopback address, but it is 0.0.0.0"), open.err());
        assertTrue(run(Map.of(), "check-config", "--config", yaml(validBase()).toString())
                .out().contains("metrics_auth: token"));
    }
}
