from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class LiveState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIVE_STATE_UNSPECIFIED: _ClassVar[LiveState]
    LIVE_STATE_WAITING: _ClassVar[LiveState]
    LIVE_STATE_TRAINING: _ClassVar[LiveState]
    LIVE_STATE_IDLE: _ClassVar[LiveState]
    LIVE_STATE_CLOSED: _ClassVar[LiveState]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
LIVE_STATE_UNSPECIFIED: LiveState
LIVE_STATE_WAITING: LiveState
LIVE_STATE_TRAINING: LiveState
LIVE_STATE_IDLE: LiveState
LIVE_STATE_CLOSED: LiveState

class Tensor(_message.Message):
    __slots__ = ("data", "dtype", "shape", "axes")
    DATA_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    axes: str
    def __init__(self, data: _Optional[bytes] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., axes: _Optional[str] = ...) -> None: ...

class TensorHeader(_message.Message):
    __slots__ = ("dtype", "shape", "axes")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    axes: str
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., axes: _Optional[str] = ...) -> None: ...

class TensorChunk(_message.Message):
    __slots__ = ("header", "data", "name")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    header: TensorHeader
    data: bytes
    name: str
    def __init__(self, header: _Optional[_Union[TensorHeader, _Mapping]] = ..., data: _Optional[bytes] = ..., name: _Optional[str] = ...) -> None: ...

class TensorRef(_message.Message):
    __slots__ = ("id", "cached")
    ID_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    id: str
    cached: bool
    def __init__(self, id: _Optional[str] = ..., cached: _Optional[bool] = ...) -> None: ...

class HasTensorResponse(_message.Message):
    __slots__ = ("present",)
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    present: bool
    def __init__(self, present: _Optional[bool] = ...) -> None: ...

class ImageInput(_message.Message):
    __slots__ = ("image_id", "labels_id", "voxel_size", "name")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_ID_FIELD_NUMBER: _ClassVar[int]
    VOXEL_SIZE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    labels_id: str
    voxel_size: _containers.RepeatedScalarFieldContainer[float]
    name: str
    def __init__(self, image_id: _Optional[str] = ..., labels_id: _Optional[str] = ..., voxel_size: _Optional[_Iterable[float]] = ..., name: _Optional[str] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("phenosort_version", "torch_version", "device", "networks", "max_message_bytes", "chunk_bytes", "api_version", "store")
    PHENOSORT_VERSION_FIELD_NUMBER: _ClassVar[int]
    TORCH_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    phenosort_version: str
    torch_version: str
    device: str
    networks: _containers.RepeatedScalarFieldContainer[str]
    max_message_bytes: int
    chunk_bytes: int
    api_version: str
    store: str
    def __init__(self, phenosort_version: _Optional[str] = ..., torch_version: _Optional[str] = ..., device: _Optional[str] = ..., networks: _Optional[_Iterable[str]] = ..., max_message_bytes: _Optional[int] = ..., chunk_bytes: _Optional[int] = ..., api_version: _Optional[str] = ..., store: _Optional[str] = ...) -> None: ...

class CreateModelRequest(_message.Message):
    __slots__ = ("name", "class_names", "settings_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    class_names: _containers.RepeatedScalarFieldContainer[str]
    settings_json: str
    def __init__(self, name: _Optional[str] = ..., class_names: _Optional[_Iterable[str]] = ..., settings_json: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "class_names", "versions", "settings_json", "metadata_json", "training_set")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_FIELD_NUMBER: _ClassVar[int]
    name: str
    class_names: _containers.RepeatedScalarFieldContainer[str]
    versions: _containers.RepeatedScalarFieldContainer[int]
    settings_json: str
    metadata_json: str
    training_set: TrainingSetSummary
    def __init__(self, name: _Optional[str] = ..., class_names: _Optional[_Iterable[str]] = ..., versions: _Optional[_Iterable[int]] = ..., settings_json: _Optional[str] = ..., metadata_json: _Optional[str] = ..., training_set: _Optional[_Union[TrainingSetSummary, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DeleteModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DeleteModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Annotation(_message.Message):
    __slots__ = ("label", "class_index", "class_name")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    label: int
    class_index: int
    class_name: str
    def __init__(self, label: _Optional[int] = ..., class_index: _Optional[int] = ..., class_name: _Optional[str] = ...) -> None: ...

class AddTrainingDataRequest(_message.Message):
    __slots__ = ("model", "image", "annotations", "replace")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    model: str
    image: ImageInput
    annotations: _containers.RepeatedCompositeFieldContainer[Annotation]
    replace: bool
    def __init__(self, model: _Optional[str] = ..., image: _Optional[_Union[ImageInput, _Mapping]] = ..., annotations: _Optional[_Iterable[_Union[Annotation, _Mapping]]] = ..., replace: _Optional[bool] = ...) -> None: ...

class ClassCount(_message.Message):
    __slots__ = ("class_name", "count")
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    class_name: str
    count: int
    def __init__(self, class_name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class TrainingSetSummary(_message.Message):
    __slots__ = ("n_images", "counts")
    N_IMAGES_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    n_images: int
    counts: _containers.RepeatedCompositeFieldContainer[ClassCount]
    def __init__(self, n_images: _Optional[int] = ..., counts: _Optional[_Iterable[_Union[ClassCount, _Mapping]]] = ...) -> None: ...

class StartTrainingRequest(_message.Message):
    __slots__ = ("model", "settings_json", "continue_training")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_TRAINING_FIELD_NUMBER: _ClassVar[int]
    model: str
    settings_json: str
    continue_training: bool
    def __init__(self, model: _Optional[str] = ..., settings_json: _Optional[str] = ..., continue_training: _Optional[bool] = ...) -> None: ...

class TrainingJob(_message.Message):
    __slots__ = ("job_id", "model", "state", "version", "message")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    model: str
    state: JobState
    version: int
    message: str
    def __init__(self, job_id: _Optional[str] = ..., model: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., version: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class WatchTrainingRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelTrainingRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class TrainingProgress(_message.Message):
    __slots__ = ("job", "epoch", "n_epochs", "train_loss", "train_accuracy", "has_validation", "val_loss", "val_accuracy", "val_macro_f1", "seconds", "metrics_json", "decisions", "warning", "better_than_chance", "probe")
    JOB_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    N_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    HAS_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    VAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    VAL_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    VAL_MACRO_F1_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    METRICS_JSON_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    BETTER_THAN_CHANCE_FIELD_NUMBER: _ClassVar[int]
    PROBE_FIELD_NUMBER: _ClassVar[int]
    job: TrainingJob
    epoch: int
    n_epochs: int
    train_loss: float
    train_accuracy: float
    has_validation: bool
    val_loss: float
    val_accuracy: float
    val_macro_f1: float
    seconds: float
    metrics_json: str
    decisions: str
    warning: str
    better_than_chance: bool
    probe: ProbeProgress
    def __init__(self, job: _Optional[_Union[TrainingJob, _Mapping]] = ..., epoch: _Optional[int] = ..., n_epochs: _Optional[int] = ..., train_loss: _Optional[float] = ..., train_accuracy: _Optional[float] = ..., has_validation: _Optional[bool] = ..., val_loss: _Optional[float] = ..., val_accuracy: _Optional[float] = ..., val_macro_f1: _Optional[float] = ..., seconds: _Optional[float] = ..., metrics_json: _Optional[str] = ..., decisions: _Optional[str] = ..., warning: _Optional[str] = ..., better_than_chance: _Optional[bool] = ..., probe: _Optional[_Union[ProbeProgress, _Mapping]] = ...) -> None: ...

class ProbeProgress(_message.Message):
    __slots__ = ("run", "n_runs", "epoch", "n_epochs", "seconds")
    RUN_FIELD_NUMBER: _ClassVar[int]
    N_RUNS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    N_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    run: int
    n_runs: int
    epoch: int
    n_epochs: int
    seconds: float
    def __init__(self, run: _Optional[int] = ..., n_runs: _Optional[int] = ..., epoch: _Optional[int] = ..., n_epochs: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("model", "version", "image", "label_ids", "class_map", "confidence_map", "class_masks")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    LABEL_IDS_FIELD_NUMBER: _ClassVar[int]
    CLASS_MAP_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_MAP_FIELD_NUMBER: _ClassVar[int]
    CLASS_MASKS_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    image: ImageInput
    label_ids: _containers.RepeatedScalarFieldContainer[int]
    class_map: bool
    confidence_map: bool
    class_masks: bool
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., image: _Optional[_Union[ImageInput, _Mapping]] = ..., label_ids: _Optional[_Iterable[int]] = ..., class_map: _Optional[bool] = ..., confidence_map: _Optional[bool] = ..., class_masks: _Optional[bool] = ...) -> None: ...

class ObjectResult(_message.Message):
    __slots__ = ("label", "class_index", "class_name", "probabilities", "confidence", "in_training_set")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    IN_TRAINING_SET_FIELD_NUMBER: _ClassVar[int]
    label: int
    class_index: int
    class_name: str
    probabilities: _containers.RepeatedScalarFieldContainer[float]
    confidence: float
    in_training_set: bool
    def __init__(self, label: _Optional[int] = ..., class_index: _Optional[int] = ..., class_name: _Optional[str] = ..., probabilities: _Optional[_Iterable[float]] = ..., confidence: _Optional[float] = ..., in_training_set: _Optional[bool] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("objects", "output")
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    objects: ObjectBatch
    output: TensorChunk
    def __init__(self, objects: _Optional[_Union[ObjectBatch, _Mapping]] = ..., output: _Optional[_Union[TensorChunk, _Mapping]] = ...) -> None: ...

class ObjectBatch(_message.Message):
    __slots__ = ("class_names", "objects")
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    class_names: _containers.RepeatedScalarFieldContainer[str]
    objects: _containers.RepeatedCompositeFieldContainer[ObjectResult]
    def __init__(self, class_names: _Optional[_Iterable[str]] = ..., objects: _Optional[_Iterable[_Union[ObjectResult, _Mapping]]] = ...) -> None: ...

class SuggestRequest(_message.Message):
    __slots__ = ("model", "version", "image", "n", "exclude")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    image: ImageInput
    n: int
    exclude: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., image: _Optional[_Union[ImageInput, _Mapping]] = ..., n: _Optional[int] = ..., exclude: _Optional[_Iterable[int]] = ...) -> None: ...

class Suggestion(_message.Message):
    __slots__ = ("label", "predicted_class", "margin")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_CLASS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    label: int
    predicted_class: int
    margin: float
    def __init__(self, label: _Optional[int] = ..., predicted_class: _Optional[int] = ..., margin: _Optional[float] = ...) -> None: ...

class SuggestResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[Suggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[Suggestion, _Mapping]]] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("model", "version", "image", "label", "class_index")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    image: ImageInput
    label: int
    class_index: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., image: _Optional[_Union[ImageInput, _Mapping]] = ..., label: _Optional[int] = ..., class_index: _Optional[int] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ("heatmap", "offset", "scale", "class_index", "probabilities")
    HEATMAP_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    heatmap: Tensor
    offset: _containers.RepeatedScalarFieldContainer[int]
    scale: float
    class_index: int
    probabilities: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, heatmap: _Optional[_Union[Tensor, _Mapping]] = ..., offset: _Optional[_Iterable[int]] = ..., scale: _Optional[float] = ..., class_index: _Optional[int] = ..., probabilities: _Optional[_Iterable[float]] = ...) -> None: ...

class GalleryRequest(_message.Message):
    __slots__ = ("model", "version", "image", "per_class", "least_certain", "no_least_certain", "tile_size", "columns")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PER_CLASS_FIELD_NUMBER: _ClassVar[int]
    LEAST_CERTAIN_FIELD_NUMBER: _ClassVar[int]
    NO_LEAST_CERTAIN_FIELD_NUMBER: _ClassVar[int]
    TILE_SIZE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    image: ImageInput
    per_class: int
    least_certain: int
    no_least_certain: bool
    tile_size: int
    columns: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., image: _Optional[_Union[ImageInput, _Mapping]] = ..., per_class: _Optional[int] = ..., least_certain: _Optional[int] = ..., no_least_certain: _Optional[bool] = ..., tile_size: _Optional[int] = ..., columns: _Optional[int] = ...) -> None: ...

class GalleryTile(_message.Message):
    __slots__ = ("label", "class_index", "class_name", "confidence", "margin", "x0", "y0", "x1", "y1", "image")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    X0_FIELD_NUMBER: _ClassVar[int]
    Y0_FIELD_NUMBER: _ClassVar[int]
    X1_FIELD_NUMBER: _ClassVar[int]
    Y1_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    label: int
    class_index: int
    class_name: str
    confidence: float
    margin: float
    x0: int
    y0: int
    x1: int
    y1: int
    image: str
    def __init__(self, label: _Optional[int] = ..., class_index: _Optional[int] = ..., class_name: _Optional[str] = ..., confidence: _Optional[float] = ..., margin: _Optional[float] = ..., x0: _Optional[int] = ..., y0: _Optional[int] = ..., x1: _Optional[int] = ..., y1: _Optional[int] = ..., image: _Optional[str] = ...) -> None: ...

class GalleryMontage(_message.Message):
    __slots__ = ("name", "class_index", "title", "n_objects", "tiles", "png", "columns", "class_colors")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    N_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    CLASS_COLORS_FIELD_NUMBER: _ClassVar[int]
    name: str
    class_index: int
    title: str
    n_objects: int
    tiles: _containers.RepeatedCompositeFieldContainer[GalleryTile]
    png: bytes
    columns: int
    class_colors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., class_index: _Optional[int] = ..., title: _Optional[str] = ..., n_objects: _Optional[int] = ..., tiles: _Optional[_Iterable[_Union[GalleryTile, _Mapping]]] = ..., png: _Optional[bytes] = ..., columns: _Optional[int] = ..., class_colors: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("name", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    data: bytes
    def __init__(self, name: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class LiveImage(_message.Message):
    __slots__ = ("image", "watch")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    WATCH_FIELD_NUMBER: _ClassVar[int]
    image: ImageInput
    watch: bool
    def __init__(self, image: _Optional[_Union[ImageInput, _Mapping]] = ..., watch: _Optional[bool] = ...) -> None: ...

class OpenLiveSessionRequest(_message.Message):
    __slots__ = ("model", "classes", "images", "live_settings_json", "include_training_set", "idle_timeout_s", "attach")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    LIVE_SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TRAINING_SET_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    ATTACH_FIELD_NUMBER: _ClassVar[int]
    model: str
    classes: _containers.RepeatedScalarFieldContainer[str]
    images: _containers.RepeatedCompositeFieldContainer[LiveImage]
    live_settings_json: str
    include_training_set: bool
    idle_timeout_s: float
    attach: bool
    def __init__(self, model: _Optional[str] = ..., classes: _Optional[_Iterable[str]] = ..., images: _Optional[_Iterable[_Union[LiveImage, _Mapping]]] = ..., live_settings_json: _Optional[str] = ..., include_training_set: _Optional[bool] = ..., idle_timeout_s: _Optional[float] = ..., attach: _Optional[bool] = ...) -> None: ...

class LabelChange(_message.Message):
    __slots__ = ("image_id", "label", "class_name", "class_index", "remove")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    label: int
    class_name: str
    class_index: int
    remove: bool
    def __init__(self, image_id: _Optional[str] = ..., label: _Optional[int] = ..., class_name: _Optional[str] = ..., class_index: _Optional[int] = ..., remove: _Optional[bool] = ...) -> None: ...

class UpdateLiveSessionRequest(_message.Message):
    __slots__ = ("session_id", "changes", "add_images", "remove_image_ids")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    ADD_IMAGES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    changes: _containers.RepeatedCompositeFieldContainer[LabelChange]
    add_images: _containers.RepeatedCompositeFieldContainer[LiveImage]
    remove_image_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[LabelChange, _Mapping]]] = ..., add_images: _Optional[_Iterable[_Union[LiveImage, _Mapping]]] = ..., remove_image_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchLiveSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class CommitLiveSessionRequest(_message.Message):
    __slots__ = ("session_id", "save_labels")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SAVE_LABELS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    save_labels: bool
    def __init__(self, session_id: _Optional[str] = ..., save_labels: _Optional[bool] = ...) -> None: ...

class CloseLiveSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class LiveSessionInfo(_message.Message):
    __slots__ = ("session_id", "model", "class_names", "state", "labels_version", "updated_version", "n_labels", "counts", "image_ids", "message", "trained_version")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LABELS_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_VERSION_FIELD_NUMBER: _ClassVar[int]
    N_LABELS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRAINED_VERSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    model: str
    class_names: _containers.RepeatedScalarFieldContainer[str]
    state: LiveState
    labels_version: int
    updated_version: int
    n_labels: int
    counts: _containers.RepeatedCompositeFieldContainer[ClassCount]
    image_ids: _containers.RepeatedScalarFieldContainer[str]
    message: str
    trained_version: int
    def __init__(self, session_id: _Optional[str] = ..., model: _Optional[str] = ..., class_names: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[LiveState, str]] = ..., labels_version: _Optional[int] = ..., updated_version: _Optional[int] = ..., n_labels: _Optional[int] = ..., counts: _Optional[_Iterable[_Union[ClassCount, _Mapping]]] = ..., image_ids: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., trained_version: _Optional[int] = ...) -> None: ...

class LiveImagePrediction(_message.Message):
    __slots__ = ("image_id", "label_ids", "class_index", "probabilities", "confidence", "margin", "labelled")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_IDS_FIELD_NUMBER: _ClassVar[int]
    CLASS_INDEX_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    LABELLED_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    label_ids: _containers.RepeatedScalarFieldContainer[int]
    class_index: _containers.RepeatedScalarFieldContainer[int]
    probabilities: _containers.RepeatedScalarFieldContainer[float]
    confidence: _containers.RepeatedScalarFieldContainer[float]
    margin: _containers.RepeatedScalarFieldContainer[float]
    labelled: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, image_id: _Optional[str] = ..., label_ids: _Optional[_Iterable[int]] = ..., class_index: _Optional[_Iterable[int]] = ..., probabilities: _Optional[_Iterable[float]] = ..., confidence: _Optional[_Iterable[float]] = ..., margin: _Optional[_Iterable[float]] = ..., labelled: _Optional[_Iterable[bool]] = ...) -> None: ...

class LiveUpdate(_message.Message):
    __slots__ = ("session", "sequence", "images", "train_seconds", "predict_seconds", "latency_seconds", "steps", "total_steps", "train_loss", "train_accuracy", "quick", "settled", "estimate_source", "estimate_balanced_accuracy", "estimate_verdict")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    TRAIN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PREDICT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    QUICK_FIELD_NUMBER: _ClassVar[int]
    SETTLED_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_BALANCED_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_VERDICT_FIELD_NUMBER: _ClassVar[int]
    session: LiveSessionInfo
    sequence: int
    images: _containers.RepeatedCompositeFieldContainer[LiveImagePrediction]
    train_seconds: float
    predict_seconds: float
    latency_seconds: float
    steps: int
    total_steps: int
    train_loss: float
    train_accuracy: float
    quick: bool
    settled: bool
    estimate_source: str
    estimate_balanced_accuracy: float
    estimate_verdict: str
    def __init__(self, session: _Optional[_Union[LiveSessionInfo, _Mapping]] = ..., sequence: _Optional[int] = ..., images: _Optional[_Iterable[_Union[LiveImagePrediction, _Mapping]]] = ..., train_seconds: _Optional[float] = ..., predict_seconds: _Optional[float] = ..., latency_seconds: _Optional[float] = ..., steps: _Optional[int] = ..., total_steps: _Optional[int] = ..., train_loss: _Optional[float] = ..., train_accuracy: _Optional[float] = ..., quick: _Optional[bool] = ..., settled: _Optional[bool] = ..., estimate_source: _Optional[str] = ..., estimate_balanced_accuracy: _Optional[float] = ..., estimate_verdict: _Optional[str] = ...) -> None: ...

class CommitLiveSessionResponse(_message.Message):
    __slots__ = ("session", "version", "labels_version", "training_set")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LABELS_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SET_FIELD_NUMBER: _ClassVar[int]
    session: LiveSessionInfo
    version: int
    labels_version: int
    training_set: TrainingSetSummary
    def __init__(self, session: _Optional[_Union[LiveSessionInfo, _Mapping]] = ..., version: _Optional[int] = ..., labels_version: _Optional[int] = ..., training_set: _Optional[_Union[TrainingSetSummary, _Mapping]] = ...) -> None: ...
