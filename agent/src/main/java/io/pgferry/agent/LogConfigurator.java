package io.pgferry.agent;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.core.spi.ContextAwareBase;
import io.pgferry.agent.config.LogFormat;
import io.pgferry.agent.config.LogLevel;

/**
 * Logback's first configurator (found through META-INF/services): text at INFO until the config is read, without
 * parsing any XML. Steps aside when a configuration file should decide, so Logback's own file lookup
 * ({@code -Dlogback.configurationFile}, logback-test.xml) runs as usual.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {
    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (LogSetup.fileConfigured()) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        LogSetup.configure(context, LogFormat.TEXT, LogLevel.INFO);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
