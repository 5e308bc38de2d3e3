package io.pgferry.agent.cli;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "check-config", mixinStandardHelpOptions = true,
        description = "Validate the configuration and print the effective settings (secrets redacted). "
                + "Exits 2 listing every error. Changes nothing on disk.")
final class CheckConfigCommand implements Callable<Integer> {
    private final Map<String, String> env;

    @Mixin
    ConfigOptions options;

    @Spec
    CommandSpec spec;

    CheckConfigCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        AgentConfig config;
        try {
            config = options.load(env);
        } catch (ConfigException e) {
            return ConfigErrors.report(e, spec.commandLine().getErr());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("configuration OK");
        out.println("listen_address: " + config.listenAddress());
        out.println("listen_port: " + config.listenPort());
        out.println("token_file: " + config.tokenFile());
        out.println("postgres.host: " + config.postgres().host());
        out.println("postgres.port: " + config.postgres().port());
        out.println("postgres.user: " + config.postgres().user());
        out.println("postgres.password: " + (config.postgres().password().isPresent() ? "set" : "not set"));
        out.println("postgres.database: " + config.postgres().database());
        out.println("pg_bin_dir: " + config.pgBinDir().map(Object::toString).orElse("(detect)"));
        out.println("state_dir: " + config.stateDir());
        out.println("log_format: " + config.logFormat().name().toLowerCase(java.util.Locale.ROOT));
        out.println("tls: " + config.tls().map(t -> "on (" + t.certFile() + ", key " + t.keyFile() + ")")
                .orElse("off (plain HTTP)"));
        out.println("archive_key_file: " + config.archiveKeyFile().map(Object::toString)
                .orElse("(none: this agent neither makes nor accepts schema archives)"));
        out.println("allow_plain_http: " + config.allowPlainHttp());
        out.flush();
        return ExitCode.OK.code();
    }
}
