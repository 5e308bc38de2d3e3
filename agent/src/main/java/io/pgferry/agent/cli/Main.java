package io.pgferry.agent.cli;

import io.pgferry.agent.AgentVersion;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "pgferry-agent", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "pgferry's per-host agent: a local HTTP API over the PostgreSQL beside it.",
        footerHeading = "%nConfiguration precedence:%n",
        footer = {"YAML file (--config), then PGFERRY_* environment, then flags; later wins.",
                "The postgres password comes only from postgres.password_file or env",
                "PGFERRY_POSTGRES_PASSWORD; the API token only from token_file. See docs/agent.md."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:OK", "1:runtime failure", "2:invalid configuration", "64:usage error"})
public final class Main implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine(System.getenv()).execute(args));
    }

    /** @param env the environment to read PGFERRY_* from; tests pass their own */
    public static CommandLine commandLine(Map<String, String> env) {
        CommandLine cl = new CommandLine(new Main());
        cl.addSubcommand(new ServeCommand(env));
        cl.addSubcommand(new CheckConfigCommand(env));
        cl.addSubcommand(new WarmUpCommand(env));
        cl.addSubcommand(new VersionCommand());
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine failed = e.getCommandLine();
            failed.getErr().println("pgferry-agent: " + e.getMessage());
            failed.usage(failed.getErr());
            return ExitCode.USAGE.code();
        });
        cl.setExecutionExceptionHandler((e, failed, parsed) -> {
            failed.getErr().println("pgferry-agent: " + e);
            return ExitCode.RUNTIME_FAILURE.code();
        });
        return cl;
    }

    @Override
    public Integer call() {
        spec.commandLine().getErr().println("pgferry-agent: missing command");
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCode.USAGE.code();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"pgferry-agent " + AgentVersion.get()};
        }
    }
}
