package io.pgferry.agent.cli;

import io.pgferry.agent.AgentVersion;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "version", mixinStandardHelpOptions = true, description = "Print the agent's version.")
final class VersionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().println("pgferry-agent " + AgentVersion.get());
        spec.commandLine().getOut().flush();
        return ExitCode.OK.code();
    }
}
