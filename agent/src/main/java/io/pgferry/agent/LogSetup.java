package io.pgferry.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.status.NopStatusListener;
import io.pgferry.agent.config.LogFormat;
import io.pgferry.agent.config.LogLevel;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/**
 * The agent's logging, set up in code rather than from XML: Joran's XML parsing loads some 600 classes and takes
 * a noticeable part of the agent's start and memory. Logging starts as text at INFO ({@link LogConfigurator}) and
 * switches to the configured format and level once the config is known. An operator's own
 * {@code -Dlogback.configurationFile} wins: Logback loads it as usual, and this class leaves it alone.
 */
public final class LogSetup {
    static final String OPERATOR_FILE = "logback.configurationFile";
    private static final String TEXT_PATTERN =
            "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0} - %msg %kvp{NONE}%n";
    /** Libraries that are chatty at INFO; their warnings still show. */
    private static final String[] QUIET = {"org.eclipse.jetty", "io.javalin", "org.postgresql"};

    private LogSetup() {
    }

    /** True when logging belongs to a configuration file (the operator's, or the tests' logback-test.xml). */
    static boolean fileConfigured() {
        return System.getProperty(OPERATOR_FILE) != null || LogSetup.class.getResource("/logback-test.xml") != null;
    }

    public static void apply(LogFormat format, LogLevel level) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context) || fileConfigured()) {
            return;
        }
        context.reset();
        configure(context, format, level);
    }

    static void configure(LoggerContext context, LogFormat format, LogLevel level) {
        NopStatusListener quiet = new NopStatusListener();
        context.getStatusManager().add(quiet);
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(format == LogFormat.JSON ? json(context) : text(context));
        stderr.start();
        for (String name : QUIET) {
            context.getLogger(name).setLevel(Level.WARN);
        }
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(level.name()));
        root.addAppender(stderr);
    }

    private static Encoder<ILoggingEvent> text(LoggerContext context) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(TEXT_PATTERN);
        encoder.start();
        return encoder;
    }

    /** One JSON object per line; SLF4J key/value pairs become top-level fields. */
    private static Encoder<ILoggingEvent> json(LoggerContext context) {
        LogstashEncoder encoder = new LogstashEncoder();
        encoder.setContext(context);
        encoder.setIncludeContext(false);
        encoder.getFieldNames().setLevelValue("[ignore]");
        encoder.getFieldNames().setVersion("[ignore]");
        encoder.start();
        return encoder;
    }
}
