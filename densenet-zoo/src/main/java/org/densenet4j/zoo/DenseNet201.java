package org.densenet4j.zoo;

import java.util.function.UnaryOperator;

/** DenseNet-201 in DL4J's zoo API; see {@link DenseNetPreset#DENSENET201}. */
public class DenseNet201 extends DenseNetZooModel {

    /** DenseNet-201 with 1000 classes and a 224x224x3 input. */
    public DenseNet201() {
        super(DenseNetPreset.DENSENET201, UnaryOperator.identity());
    }

    /** DenseNet-201 changed by {@code customise}, e.g. {@code c -> c.numClasses(10)}. */
    public DenseNet201(UnaryOperator<DenseNetConfig.Builder> customise) {
        super(DenseNetPreset.DENSENET201, customise);
    }
}
