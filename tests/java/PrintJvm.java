import java.lang.management.ManagementFactory;

/**
 * Stands for a Spinnaker service's main class in tests/start_script.rs: prints, one per line, every JVM
 * option the start script passed (as the JVM received it), then the key store password env var as Spring
 * would read it, then its own command line as the kernel shows it to `ps` (/proc/self/cmdline, NUL-separated).
 * Each value is hex-encoded, so no byte is lost.
 */
public class PrintJvm {
    private static String hex(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            out.append(String.format("%02x", b));
        }
        return out.toString();
    }

    public static void main(String[] args) throws Exception {
        for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            System.out.println("option " + hex(option));
        }
        String password = System.getenv("SPINNAKER_KRM_STORE_PASSWORD");
        System.out.println("env " + hex(password == null ? "" : password));
        byte[] cmdline = java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("/proc/self/cmdline"));
        for (String arg : new String(cmdline, java.nio.charset.StandardCharsets.UTF_8).split("\0")) {
            System.out.println("cmdline " + hex(arg));
        }
    }
}
