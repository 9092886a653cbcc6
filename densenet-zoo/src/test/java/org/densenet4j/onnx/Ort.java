package org.densenet4j.onnx;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** An ONNX model in ONNX Runtime (CPU), fed and read as ND4J arrays. */
final class Ort implements AutoCloseable {

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    /** {@code model} with ONNX Runtime's default (full) graph optimisation. */
    Ort(Path model) throws OrtException {
        this(model, null);
    }

    /** {@code model}, its optimised graph written to {@code optimised} (basic optimisations) when given. */
    Ort(Path model, Path optimised) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            if (optimised != null) {
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
                options.setOptimizedModelFilePath(optimised.toString());
            }
            session = env.createSession(model.toString(), options);
        }
    }

    OrtSession session() {
        return session;
    }

    /** Every output, by name, for input {@code x} (float32). */
    Map<String, INDArray> run(String input, INDArray x) throws OrtException {
        float[] data = x.castTo(DataType.FLOAT).dup('c').data().asFloat();
        Map<String, INDArray> outputs = new LinkedHashMap<>();
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), x.shape());
             OrtSession.Result result = session.run(Map.of(input, t))) {
            for (Map.Entry<String, OnnxValue> e : result) {
                OnnxTensor o = (OnnxTensor) e.getValue();
                FloatBuffer b = o.getFloatBuffer();
                float[] values = new float[b.remaining()];
                b.get(values);
                outputs.put(e.getKey(), Nd4j.create(values, o.getInfo().getShape(), 'c'));
            }
        }
        return outputs;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
