import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Both ends of a Spinnaker service-to-service call, configured the way Spring Boot and kork read their
 * settings: from the environment a rendered Deployment gives its container (tests/mtls_handshake.rs).
 *
 * <p>Properties are looked up as Spring Boot's relaxed binding maps them to environment variables
 * ({@code server.ssl.key-store} from {@code SERVER_SSL_KEYSTORE}, or the legacy {@code SERVER_SSL_KEY_STORE}),
 * and {@code ${NAME}} placeholders in a value are resolved from the environment, as Spring resolves them.
 *
 * <ul>
 *   <li>{@code server}: an HTTPS endpoint on 127.0.0.1 (a free port) from {@code server.ssl.*}: key store,
 *       trust store and {@code client-auth} (need | want | none). Prints {@code listening PORT}, then one line
 *       per connection: {@code accepted client=<subject or none> sni=<name>} or {@code rejected <error>}.
 *       Exits when its stdin closes, or after five minutes.
 *   <li>{@code client PROPERTY PORT [--no-client-cert]}: calls {@code GET /health} on the URL in the
 *       property (e.g. {@code services.clouddriver.baseUrl}), with an SSLContext built like kork's
 *       DefaultOkHttpClientBuilderProvider from {@code ok-http-client.*} (key store and trust store; TLS 1.3
 *       and 1.2). The URL's host is resolved to 127.0.0.1 and its port replaced by PORT; the host name is
 *       still sent as SNI and verified against the server certificate (endpoint identification HTTPS).
 *       {@code --no-client-cert} leaves the key store out, as kubelet or a browser would. Prints
 *       {@code ok server=<subject> body=<body>} and exits 0, or {@code failed <error>} and exits 1.
 * </ul>
 */
public class MtlsProbe {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]+)}");

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals("server")) {
      server();
    } else if (args.length >= 3 && args[0].equals("client")) {
      boolean clientCert = !(args.length == 4 && args[3].equals("--no-client-cert"));
      System.exit(client(args[1], Integer.parseInt(args[2]), clientCert));
    } else {
      System.err.println("usage: MtlsProbe server | client PROPERTY PORT [--no-client-cert]");
      System.exit(2);
    }
  }

  /** A Spring property from the environment, placeholders resolved; fails when it is not set. */
  static String property(String name) {
    String value = optionalProperty(name);
    if (value == null) {
      throw new IllegalStateException(name + " is not set (env " + envName(name) + ")");
    }
    return value;
  }

  static String optionalProperty(String name) {
    String value = System.getenv(envName(name));
    if (value == null) {
      value = System.getenv(name.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT));
    }
    return value == null ? null : resolve(value);
  }

  /** Spring Boot's canonical environment name: dots to underscores, dashes removed, upper case. */
  static String envName(String property) {
    return property.replace(".", "_").replace("-", "").toUpperCase(Locale.ROOT);
  }

  static String resolve(String value) {
    Matcher m = PLACEHOLDER.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String resolved = System.getenv(m.group(1));
      if (resolved == null) {
        throw new IllegalStateException("could not resolve placeholder '" + m.group(1) + "' in value \"" + value + "\"");
      }
      m.appendReplacement(out, Matcher.quoteReplacement(resolved));
    }
    m.appendTail(out);
    return out.toString();
  }

  static KeyStore load(String prefix, String store) throws Exception {
    String type = optionalProperty(prefix + "." + store + "-type");
    KeyStore keyStore = KeyStore.getInstance(type == null ? "PKCS12" : type);
    try (InputStream in = new FileInputStream(property(prefix + "." + store))) {
      keyStore.load(in, property(prefix + "." + store + "-password").toCharArray());
    }
    return keyStore;
  }

  static SSLContext context(String prefix, boolean withKeyStore) throws Exception {
    KeyManager[] keyManagers = null;
    if (withKeyStore) {
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(load(prefix, "key-store"), property(prefix + ".key-store-password").toCharArray());
      keyManagers = kmf.getKeyManagers();
    }
    KeyStore trustStore = load(prefix, "trust-store");
    if (trustStore.size() == 0) {
      throw new IllegalStateException(prefix + ".trust-store holds no trusted certificate");
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trustStore);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers, tmf.getTrustManagers(), null);
    return context;
  }

  static void server() throws Exception {
    if (!"true".equals(property("server.ssl.enabled"))) {
      throw new IllegalStateException("server.ssl.enabled is not true");
    }
    SSLContext context = context("server.ssl", true);
    SSLServerSocket listener = (SSLServerSocket)
        context.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    String clientAuth = property("server.ssl.client-auth");
    switch (clientAuth) {
      case "need" -> listener.setNeedClientAuth(true);
      case "want" -> listener.setWantClientAuth(true);
      case "none" -> { }
      default -> throw new IllegalStateException("server.ssl.client-auth: unknown value " + clientAuth);
    }
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) { }
      } catch (IOException e) {
        // the parent is gone
      }
      System.exit(0);
    });
    watchdog.setDaemon(true);
    watchdog.start();
    Thread deadline = new Thread(() -> {
      try {
        Thread.sleep(300_000);
      } catch (InterruptedException e) {
        return;
      }
      System.exit(3);
    });
    deadline.setDaemon(true);
    deadline.start();
    System.out.println("listening " + listener.getLocalPort());
    System.out.flush();
    while (true) {
      try (SSLSocket socket = (SSLSocket) listener.accept()) {
        socket.setSoTimeout(10_000);
        try {
          socket.startHandshake();
          BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
          String request = in.readLine();
          for (String line = request; line != null && !line.isEmpty(); line = in.readLine()) { }
          String client = peer(socket);
          String sni = requestedServerName(socket);
          String body = "healthy; client " + client;
          OutputStream out = socket.getOutputStream();
          out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length()
              + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
          out.flush();
          System.out.println("accepted client=" + client + " sni=" + sni + " request=" + request);
        } catch (Exception e) {
          System.out.println("rejected " + describe(e));
        }
        System.out.flush();
      }
    }
  }

  static String peer(SSLSocket socket) {
    try {
      return socket.getSession().getPeerPrincipal().getName();
    } catch (SSLPeerUnverifiedException e) {
      return "none";
    }
  }

  static String requestedServerName(SSLSocket socket) {
    if (socket.getSession() instanceof ExtendedSSLSession session) {
      for (SNIServerName name : session.getRequestedServerNames()) {
        if (name instanceof SNIHostName host) {
          return host.getAsciiName();
        }
      }
    }
    return "none";
  }

  static int client(String urlProperty, int port, boolean clientCert) {
    try {
      URI url = URI.create(property(urlProperty));
      if (!"https".equals(url.getScheme())) {
        throw new IllegalStateException(urlProperty + " is not an https URL: " + url);
      }
      String host = url.getHost();
      SSLContext context = context("ok-http-client", clientCert);
      Socket raw = new Socket();
      raw.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
      raw.setSoTimeout(10_000);
      try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(raw, host, url.getPort(), true)) {
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        parameters.setServerNames(List.of(new SNIHostName(host)));
        parameters.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        String server = socket.getSession().getPeerPrincipal().getName();
        OutputStream out = socket.getOutputStream();
        out.write(("GET /health HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort()
            + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        if (!response.startsWith("HTTP/1.1 200 ")) {
          throw new IllegalStateException("no 200 response: " + response);
        }
        String body = response.substring(response.indexOf("\r\n\r\n") + 4);
        System.out.println("ok server=" + server + " body=" + body);
        return 0;
      }
    } catch (Exception e) {
      System.out.println("failed " + describe(e));
      return 1;
    }
  }

  /** The exception and its causes, one line. */
  static String describe(Throwable e) {
    List<String> parts = new ArrayList<>();
    for (Throwable t = e; t != null && parts.size() < 5; t = t.getCause()) {
      parts.add(t.getClass().getSimpleName() + ": " + t.getMessage());
    }
    return String.join(" <- ", parts).replace('\n', ' ');
  }
}
