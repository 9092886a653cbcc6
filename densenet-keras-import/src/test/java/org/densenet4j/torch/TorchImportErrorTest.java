package org.densenet4j.torch;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.densenet4j.keras.Fixtures;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.keras.WeightImportException;
import org.densenet4j.keras.WeightLayout;
import org.densenet4j.zoo.DenseNetConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A torchvision state_dict is held to the Keras files' standard: a missing, extra, mis-shaped,
 * non-float, non-finite or negative-variance entry is a named error, and a pickle that names any
 * global a state_dict does not use is refused without running anything.
 */
class TorchImportErrorTest {

    private static Fixtures.TorchFixture tiny;
    private static DenseNetConfig config;
    private static Map<String, SafetensorsWriter.Entry> entries;

    @TempDir
    Path tmp;

    @BeforeAll
    static void fixtures() throws Exception {
        tiny = Fixtures.torch("densenet-tiny", 32, 32, 2, 5);
        config = KerasDenseNetImporter.inspect(tiny.pth()).toConfig().inputShape(32, 32, 3).build();
        entries = SafetensorsWriter.of(TorchStateDict.read(tiny.safetensors()));
    }

    private String failure(Map<String, SafetensorsWriter.Entry> changed, String name) throws Exception {
        Path file = SafetensorsWriter.write(tmp.resolve(name + ".safetensors"), changed);
        return failure(file, null);
    }

    private static String failure(Path file, WeightLayout layout) {
        WeightImportException e = assertThrows(WeightImportException.class,
                () -> KerasDenseNetImporter.load(file, config, layout));
        assertTrue(e.getMessage().startsWith(file + ": "), () -> "names the file: " + e.getMessage());
        return e.getMessage();
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "expected '" + part + "' in: " + message);
        }
    }

    private static Map<String, SafetensorsWriter.Entry> copy() {
        return new LinkedHashMap<>(entries);
    }

    @Test
    void theUnchangedCopyLoads() throws Exception {
        Path file = SafetensorsWriter.write(tmp.resolve("same.safetensors"), entries);
        KerasDenseNetImporter.load(file, config).close();
    }

    @Test
    void aMissingEntryNamesTheLayer() throws Exception {
        Map<String, SafetensorsWriter.Entry> m = copy();
        m.keySet().removeIf(k -> k.startsWith("features.denseblock2.denselayer1.conv1."));
        assertContains(failure(m, "missing"), "layers of the graph are not in the file: conv3_1_x1");
    }

    @Test
    void anExtraModuleIsNamed() throws Exception {
        Map<String, SafetensorsWriter.Entry> m = copy();
        m.put("features.extra.weight", m.get("features.conv0.weight"));
        assertContains(failure(m, "extra"), "layer 'features.extra': is not a module of a torchvision DenseNet");
        Map<String, SafetensorsWriter.Entry> p = copy();
        p.put("features.conv0.momentum", m.get("features.conv0.weight"));
        assertContains(failure(p, "parameter"), "features.conv0", "momentum");
    }

    @Test
    void aMisShapedEntryNamesBothShapes() throws Exception {
        Map<String, SafetensorsWriter.Entry> m = copy();
        SafetensorsWriter.Entry w = m.get("features.conv0.weight");
        m.put("features.conv0.weight", new SafetensorsWriter.Entry("F32", new long[] {w.shape()[0] / 2,
                2 * w.shape()[1],
                w.shape()[2], w.shape()[3]}, w.bytes()));
        assertContains(failure(m, "shape"), "conv1", "does not fit: expected (8, 3, 7, 7)");
    }

    @Test
    void nonFloatNonFiniteAndNegativeVarianceAreNamed() throws Exception {
        Map<String, SafetensorsWriter.Entry> ints = copy();
        SafetensorsWriter.Entry w = ints.get("features.conv0.weight");
        ints.put("features.conv0.weight", new SafetensorsWriter.Entry("I32", w.shape(), w.bytes()));
        assertContains(failure(ints, "int"), "entry 'features.conv0.weight' holds int32 values");

        Map<String, SafetensorsWriter.Entry> nan = copy();
        float[] values = TorchStateDict.read(tiny.safetensors()).tensors().get("features.norm0.bias").values().clone();
        values[1] = Float.NaN;
        nan.put("features.norm0.bias", SafetensorsWriter.Entry.floats(new long[] {values.length}, values));
        assertContains(failure(nan, "nan"), "features.norm0", "NaN");

        Map<String, SafetensorsWriter.Entry> var = copy();
        float[] v =
                TorchStateDict.read(tiny.safetensors()).tensors().get("features.norm5.running_var").values().clone();
        v[0] = -1f;
        var.put("features.norm5.running_var", SafetensorsWriter.Entry.floats(new long[] {v.length}, v));
        assertContains(failure(var, "variance"), "conv4_blk_bn", "negative variance -1.0");
    }

    @Test
    void damagedSafetensorsHeadersAreNamed() throws Exception {
        byte[] good = SafetensorsWriter.bytes(entries);
        byte[] longHeader = good.clone();
        longHeader[3] = 0x7f; // a header length of terabytes
        assertContains(failure(Files.write(tmp.resolve("len.safetensors"), longHeader), null), "safetensors header of");

        Map<String, SafetensorsWriter.Entry> shorter = copy();
        SafetensorsWriter.Entry w = shorter.get("features.conv0.weight");
        shorter.put("features.conv0.weight", new SafetensorsWriter.Entry("F32", new long[] {8, 3, 7, 8}, w.bytes()));
        assertContains(failure(shorter, "count"), "'features.conv0.weight' claims bytes", "for 1344 float32 values");

        String json = new String(good, 8, (int) java.nio.ByteBuffer.wrap(good).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getLong(), StandardCharsets.UTF_8);
        // The second entry's bytes moved onto the first's: same lengths, overlapping ranges.
        java.util.regex.Matcher first =
                java.util.regex.Pattern.compile("\"data_offsets\":\\[0,(\\d+)\\]").matcher(json);
        assertTrue(first.find());
        String overlapped = json.replaceFirst("\"data_offsets\":\\[" + first.group(1) + ",(\\d+)\\]", "XX");
        long secondEnd = Long.parseLong(json.replaceAll("(?s).*?\"data_offsets\":\\[" + first.group(1) + ",(\\d+)\\].*",
                "$1"));
        overlapped = overlapped.replace("XX",
                "\"data_offsets\":[0," + (secondEnd - Long.parseLong(first.group(1))) + "]");
        byte[] header = overlapped.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + header.length + good.length - 8 - json.length())
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(good, 8 + json.length(), good.length - 8 - json.length());
        assertContains(failure(Files.write(tmp.resolve("overlap.safetensors"), b.array()), null),
                "claim the same bytes");
    }

    @Test
    void aPickleNamingAnyOtherGlobalIsRefusedWithoutRunningIt() throws Exception {
        Path marker = tmp.resolve("ran");
        String command = "touch " + marker;
        // GLOBAL os.system, then REDUCE with (command,): what a malicious .pth does.
        byte[] classic = pickle("\u0080\u0002cos\nsystem\nX" + le(command.length()) + command + "\u0085R.");
        assertContains(failure(zip("archive", classic), null), "the global 'os.system'", "refused");
        // The same through STACK_GLOBAL (protocol 4).
        byte[] stack = pickle("\u0080\u0004\u008c\u0002os\u008c\u0006system\u0093X" + le(command.length()) + command
                + "\u0085R.");
        assertContains(failure(zip("stack", stack), null), "the global 'os.system'");
        // Inside an otherwise plausible state_dict, and in the legacy format.
        byte[] nested =
                pickle("\u0080\u0002ccollections\nOrderedDict\n)R(X\u0001\u0000\u0000\u0000acsubprocess\nPopen\n"
                + "X" + le(command.length()) + command + "\u0085Ru.");
        assertContains(failure(zip("nested", nested), null), "the global 'subprocess.Popen'");
        Path legacy = tmp.resolve("legacy.pth");
        Files.write(legacy,
                concat(pickle("\u0080\u0002\u008a\n\u006c\u00fc\u009c\u0046\u00f9\u0020\u006a\u00a8\u0050\u0019."),
                pickle("\u0080\u0002M\u00e9\u0003."), pickle("\u0080\u0002}."), classic));
        assertContains(failure(legacy, null), "the global 'os.system'");
        assertTrue(!Files.exists(marker), "nothing ran");
    }

    @Test
    void aLayoutThatCannotBeTheFilesIsRefused() throws Exception {
        assertContains(failure(tiny.pth(), WeightLayout.KERAS2),
                "is a PyTorch zip file, which cannot be in the 'keras2' layout");
        Path h5 = Fixtures.get("densenet-tiny", "keras2", 32, 32, 2, 5).weights();
        assertContains(failure(h5, WeightLayout.TORCHVISION),
                "is a HDF5 file, which cannot be in the 'torchvision' layout");
    }

    private static String le(int n) {
        return new String(new char[] {(char) (n & 0xff), (char) ((n >> 8) & 0xff), (char) ((n >> 16) & 0xff),
                (char) (n >>> 24)});
    }

    /** A pickle written as characters 0-255, one byte each. */
    private static byte[] pickle(String chars) {
        return chars.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private Path zip(String name, byte[] dataPkl) throws Exception {
        Path file = tmp.resolve(name + ".pth");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(file))) {
            out.putNextEntry(new ZipEntry(name + "/data.pkl"));
            out.write(dataPkl);
            out.closeEntry();
        }
        return file;
    }
}
