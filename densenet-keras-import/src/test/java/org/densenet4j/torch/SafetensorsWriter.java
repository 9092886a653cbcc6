package org.densenet4j.torch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;

/** Writes safetensors files for tests: float32 entries, or raw bytes under any dtype name. */
final class SafetensorsWriter {

    /** One entry: its dtype name as written, shape and raw little-endian bytes. */
    record Entry(String dtype, long[] shape, byte[] bytes) {
        static Entry floats(long[] shape, float[] values) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                b.putFloat(v);
            }
            return new Entry("F32", shape, b.array());
        }
    }

    private SafetensorsWriter() {
    }

    /** The file's bytes: header length, JSON header, data, entries in map order. */
    static byte[] bytes(Map<String, Entry> entries) throws IOException {
        StringBuilder header = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry t = e.getValue();
            header.append(header.length() > 1 ? "," : "").append('"').append(e.getKey()).append("\":{\"dtype\":\"")
                    .append(t.dtype()).append("\",\"shape\":[")
                    .append(Arrays.stream(t.shape()).mapToObj(Long::toString).collect(Collectors.joining(",")))
                    .append("],\"data_offsets\":[").append(data.size()).append(',').append(data.size()
                    + t.bytes().length)
                    .append("]}");
            data.write(t.bytes());
        }
        byte[] json = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data.toByteArray());
        return out.array();
    }

    /** The entries of a state_dict read here, as float32 entries (integers dropped). */
    static Map<String, Entry> of(TorchStateDict.Contents contents) {
        Map<String, Entry> out = new java.util.LinkedHashMap<>();
        contents.tensors().forEach((k, t) -> {
            if (t.values() != null) {
                out.put(k, Entry.floats(t.shape(), t.values()));
            }
        });
        return out;
    }

    static Path write(Path file, Map<String, Entry> entries) throws IOException {
        return Files.write(file, bytes(entries));
    }
}
