package io.pgferry.agent.cli;

import io.pgferry.agent.Agent;
import io.pgferry.agent.LogSetup;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigException;
import io.pgferry.agent.postgres.PgToolsException;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Start the HTTP API and run until stopped (SIGTERM or SIGINT).")
final class ServeCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

    private final Map<String, String> env;

    @Mixin
    ConfigOptions options;

    @Spec
    CommandSpec spec;

    ServeCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() throws InterruptedException {
        AgentConfig config;
        try {
            config = options.load(env);
        } catch (ConfigException e) {
            return ConfigErrors.report(e, spec.commandLine().getErr());
        }
        LogSetup.apply(config.logFormat(), config.logLevel());
        Agent agent;
        try {
            agent = Agent.start(config, env.get("PATH"));
        } catch (PgToolsException e) {
            LOG.error("cannot serve: {}", e.getMessage());
            return ExitCode.RUNTIME_FAILURE.code();
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot serve: {}", e.toString());
            return ExitCode.RUNTIME_FAILURE.code();
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("stopping");
            agent.close();
            stopped.countDown();
        }, "agent-shutdown"));
        stopped.await();
        return ExitCode.OK.code();
    }
}
