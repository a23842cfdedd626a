package org.medkg.neo4jserver;

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.cli.ExecutionContext;
import org.neo4j.commandline.admin.security.SetInitialPasswordCommand;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.internal.helpers.HostnamePort;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.kernel.internal.GraphDatabaseAPI;
import org.neo4j.kernel.internal.Version;
import org.neo4j.server.CommunityBootstrapper;
import picocli.CommandLine;

/**
 * A Neo4j Community server for medkg-etl's tests and benchmarks, started in-process.
 *
 * <pre>
 * NEO4J_PASSWORD=... java -jar target/neo4j-test-server.jar --data DIR [--bolt-port N] [--http-port N]
 *                                                              [--pagecache SIZE] [--no-auth]
 *                                                              [--conf SETTING=VALUE]...
 * </pre>
 *
 * It is the real server (the bootstrapper `neo4j console` runs), configured from the command line
 * instead of neo4j.conf: Bolt, and HTTP with Neo4j Browser when --http-port is given, listen on
 * 127.0.0.1 only (port 0: the kernel picks a free one); DIR holds data/ and logs/. Authentication
 * is on: user neo4j, password from NEO4J_PASSWORD, set when DIR is first used (a restart keeps it);
 * --no-auth turns authentication off instead. Everything Neo4j prints goes to DIR/logs/console.log; stdout gets exactly one line,
 * once Bolt accepts connections:
 *
 * <pre>ready bolt://127.0.0.1:PORT [http://127.0.0.1:PORT] neo4j VERSION</pre>
 *
 * --conf sets any other Neo4j setting (as a line of neo4j.conf would; repeatable), e.g. the Cypher
 * planner's `dbms.cypher.min_replan_interval=1h` for a benchmark; it may not change what the
 * options above set (listen addresses, authentication, page cache), which the tests rely on.
 *
 * SIGTERM or SIGINT shuts the server down cleanly (the bootstrapper's own handlers and hook).
 */
public final class TestServer {
    private static final String USAGE = "usage: TestServer --data DIR [--bolt-port N] [--http-port N] "
            + "[--pagecache SIZE] [--no-auth] [--conf SETTING=VALUE]...   (password: NEO4J_PASSWORD)";

    private TestServer() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        PrintStream err = System.err;
        Map<String, String> settings = new HashMap<>();
        Map<String, String> options = parse(args, err, settings);
        Path home = Path.of(options.get("data")).toAbsolutePath();
        boolean auth = !options.containsKey("no-auth");
        String password = System.getenv("NEO4J_PASSWORD");
        if (auth && (password == null || password.length() < 8)) {
            fail(err, "NEO4J_PASSWORD must be set (8+ characters), or pass --no-auth", 2);
        }

        Map<String, String> config = new HashMap<>();
        config.put("server.default_listen_address", "127.0.0.1");
        config.put("server.default_advertised_address", "127.0.0.1");
        config.put("server.bolt.listen_address", "127.0.0.1:" + options.getOrDefault("bolt-port", "0"));
        String httpPort = options.get("http-port");
        config.put("server.http.enabled", Boolean.toString(httpPort != null));
        if (httpPort != null) {
            config.put("server.http.listen_address", "127.0.0.1:" + httpPort);
        }
        config.put("server.https.enabled", "false");
        config.put("dbms.security.auth_enabled", Boolean.toString(auth));
        config.put("server.memory.pagecache.size", options.getOrDefault("pagecache", "256m"));
        config.put("dbms.usage_report.enabled", "false"); // no phoning home (and no network here)
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            if (config.containsKey(setting.getKey()) || setting.getKey().startsWith("server.bolt.")
                    || setting.getKey().startsWith("server.http") || setting.getKey().startsWith("dbms.security.")) {
                fail(err, "--conf may not change " + setting.getKey() + " (set by the test server itself)", 2);
            }
            config.put(setting.getKey(), setting.getValue());
        }

        // Neo4j's own console output goes to a file: stdout carries only the ready line.
        Path logs = home.resolve("logs");
        Files.createDirectories(logs);
        PrintStream console = new PrintStream(
                new FileOutputStream(logs.resolve("console.log").toFile(), true), true, StandardCharsets.UTF_8);
        System.setOut(console);
        System.setErr(console);

        if (auth) {
            try {
                setInitialPassword(home, password, console);
            } catch (RuntimeException error) {
                error.printStackTrace(console);
                fail(err, "could not set the password: " + error.getMessage() + "; see " + logs, 1);
            }
        }
        CommunityBootstrapper server = new CommunityBootstrapper();
        int code = server.start(home, config);
        if (code != 0) {
            fail(err, "Neo4j did not start (code " + code + "); see " + logs, code);
        }
        try {
            out.println(announce(server.getDatabaseManagementService()));
            out.flush();
        } catch (RuntimeException error) {
            error.printStackTrace(console);
            fail(err, "Neo4j started but could not be set up: " + error.getMessage() + "; see " + logs, 1);
        }
        new CountDownLatch(1).await(); // until SIGTERM/SIGINT: the handler exits, the hook shuts down
    }

    /**
     * What `neo4j-admin dbms set-initial-password` does, in-process: the password of user neo4j for
     * a data folder whose system database does not exist yet (no "change password" step, and no
     * Cypher at start-up). A restart keeps the password the folder was created with.
     */
    private static void setInitialPassword(Path home, String password, PrintStream log) {
        if (Files.isDirectory(home.resolve("data").resolve("databases").resolve("system"))) {
            return;
        }
        ExecutionContext context = new ExecutionContext(home, home.resolve("conf"), log, log,
                new DefaultFileSystemAbstraction());
        int code = new CommandLine(new SetInitialPasswordCommand(context)).execute("--", password);
        if (code != 0) {
            throw new IllegalStateException("setting the initial password failed (code " + code + ")");
        }
    }

    /** The ready line: where Bolt (and HTTP) listen, as bound. */
    private static String announce(DatabaseManagementService dbms) {
        GraphDatabaseAPI system = (GraphDatabaseAPI) dbms.database("system");
        ConnectorPortRegister ports = system.getDependencyResolver().resolveDependency(ConnectorPortRegister.class);
        HostnamePort bolt = ports.getLocalAddress(ConnectorType.BOLT);
        HostnamePort http = ports.getLocalAddress(ConnectorType.HTTP);
        return "ready bolt://127.0.0.1:" + bolt.getPort()
                + (http != null ? " http://127.0.0.1:" + http.getPort() : "") + " neo4j " + Version.getNeo4jVersion();
    }

    private static Map<String, String> parse(String[] args, PrintStream err, Map<String, String> settings) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--no-auth" -> options.put("no-auth", "");
                case "--conf" -> {
                    String setting = i + 1 < args.length ? args[++i] : "";
                    int equals = setting.indexOf('=');
                    if (equals < 1) {
                        fail(err, "--conf needs SETTING=VALUE, got '" + setting + "'\n" + USAGE, 2);
                    }
                    settings.put(setting.substring(0, equals).strip(), setting.substring(equals + 1).strip());
                }
                case "--data", "--bolt-port", "--http-port", "--pagecache" -> {
                    if (i + 1 >= args.length) {
                        fail(err, arg + " needs a value\n" + USAGE, 2);
                    }
                    options.put(arg.substring(2), args[++i]);
                }
                default -> fail(err, "unknown argument " + arg + "\n" + USAGE, 2);
            }
        }
        if (!options.containsKey("data")) {
            fail(err, "--data is required\n" + USAGE, 2);
        }
        for (String port : new String[] {"bolt-port", "http-port"}) {
            String value = options.get(port);
            if (value != null && !value.matches("\\d{1,5}")) {
                fail(err, "--" + port + " must be a port number (0: any free port)", 2);
            }
        }
        return options;
    }

    private static void fail(PrintStream err, String message, int code) {
        err.println("neo4j-test-server: " + message);
        err.flush();
        System.exit(code);
    }
}
