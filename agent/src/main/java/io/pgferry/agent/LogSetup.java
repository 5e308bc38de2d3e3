package io.pgferry.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import io.pgferry.agent.config.LogFormat;
import io.pgferry.agent.config.LogLevel;
import java.net.URL;
import org.slf4j.LoggerFactory;

/**
 * Switches logging to the configured format and level once the config is known (logging starts before that).
 * An operator's own {@code -Dlogback.configurationFile} wins: Logback has already loaded it, and it is left alone.
 */
public final class LogSetup {
    static final String OPERATOR_FILE = "logback.configurationFile";

    private LogSetup() {
    }

    public static void apply(LogFormat format, LogLevel level) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        if (System.getProperty(OPERATOR_FILE) != null) {
            return;
        }
        URL resource = LogSetup.class.getResource(format == LogFormat.JSON ? "/logback-json.xml" : "/logback.xml");
        context.reset();
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
            configurator.doConfigure(resource);
        } catch (JoranException e) {
            throw new IllegalStateException("logging configuration " + resource + " is broken", e);
        }
        context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level.name()));
    }
}
