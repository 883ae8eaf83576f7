"""The lake's storage without Dagster: ``LakeAccess`` is the ``Lake`` resource's fields and methods.

``nba_assets.lake.Lake`` is this class as a ``dg.ConfigurableResource`` (what assets, sensors and
the IO managers name). A command outside a run (``nba_assets.summary``, printed after every
``make run``) takes ``LakeAccess`` with the same configuration (``Settings.lake_config()``) and
reads the same tables, models and objects without importing Dagster (~1 s of a short command).

- **tables** (``tables()``): the storage seam, ``LocalParquetStore`` under ``lake_dir`` or
  ``BigQueryStore`` (``backend: local | bigquery``).
- **models** (``models()``): the weekly model store under ``lake_dir/nba_predictions/``.
- **objects** (``landing()``, ``exports()``, ``reports()``): files under ``lake_dir/<prefix>/``,
  each written atomically and, when an object store is configured (``object_store: gcs``), copied
  to GCS under the same key with the ``Cache-Control`` of its kind (``io/objects.py``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, PrivateAttr

from nba_assets.io.objects import GcsObjectStore, LakeObjects, ObjectStore, ObjectStoreError, gcs_client
from nba_assets.io.storage import LocalParquetStore, PartitionedTableStore

BACKENDS = ("local", "bigquery")
# The local store's memory of recent window reads (``LocalParquetStore``): one run's steps read the
# same windows many times; a one-day run's distinct windows are ~200 MB in memory.
WINDOW_CACHE_BYTES = 512 * 2**20
OBJECT_STORES = ("local", "gcs")
EXPORTS_PREFIX = "exports/v1"


class LakeAccess(BaseModel):
    """Tables (local Parquet or BigQuery), the model store, and the landing/exports/reports objects
    (a local directory, mirrored to GCS when configured)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lake_dir: str
    backend: str = "local"
    # BigQuery (backend: bigquery)
    bq_project: str = ""
    bq_location: str = "US"
    bq_dataset_prefix: str = ""
    bq_dataset_suffix: str = ""
    bq_job_timeout_s: float = 600.0
    bq_endpoint: str = ""  # an emulator's URL (anonymous credentials)
    # Objects: every file is written under lake_dir; with ``gcs`` also to the bucket, same key.
    object_store: str = "local"
    gcs_bucket: str = ""
    gcs_exports_bucket: str = ""  # the public exports in a bucket of their own (default gcs_bucket)
    gcs_prefix: str = ""
    gcs_project: str = ""
    gcs_emulated: bool = False  # STORAGE_EMULATOR_HOST is set: anonymous credentials

    _tables: PartitionedTableStore | None = PrivateAttr(default=None)
    _mirrors: dict = PrivateAttr(default_factory=dict)

    # ------------------------------------------------------------------------------------- tables

    @property
    def root(self) -> Path:
        if not self.lake_dir:
            raise ValueError("the lake needs lake_dir (NBA_LAKE_DIR)")
        return Path(self.lake_dir).resolve()

    @property
    def backend_name(self) -> str:
        name = (self.backend or "local").strip().lower()
        if name not in BACKENDS:
            raise ValueError(f"NBA_BACKEND={name!r}: expected one of {list(BACKENDS)}")
        return name

    def bigquery_settings(self):
        from nba_assets.io.bigquery import BigQuerySettings
        from nba_assets.io.storage import StorageError

        if not self.bq_project:
            raise StorageError("NBA_BACKEND=bigquery needs GOOGLE_CLOUD_PROJECT (the project holding the datasets)")
        return BigQuerySettings(
            project=self.bq_project,
            location=self.bq_location or "US",
            dataset_prefix=self.bq_dataset_prefix,
            dataset_suffix=self.bq_dataset_suffix,
            job_timeout_s=self.bq_job_timeout_s,
            endpoint=self.bq_endpoint or None,
        )

    def tables(self) -> PartitionedTableStore:
        """The partitioned-table store of ``backend`` (one per resource instance)."""
        if self._tables is None:
            if self.backend_name == "bigquery":
                from nba_assets.io.bigquery import store_from_settings

                self._tables = store_from_settings(self.bigquery_settings())
            else:
                self._tables = LocalParquetStore(self.root, window_cache_bytes=WINDOW_CACHE_BYTES)
        return self._tables

    def models(self):
        """The weekly model store (``io/model_store.ModelStore``) under the lake."""
        from nba_assets.io.model_store import ModelStore

        return ModelStore(self.root)

    # ------------------------------------------------------------------------------------ objects

    def _mirror(self, purpose: str) -> ObjectStore | None:
        kind = (self.object_store or "local").strip().lower()
        if kind not in OBJECT_STORES:
            raise ObjectStoreError(f"NBA_OBJECT_STORE={kind!r}: expected 'local' or 'gcs'")
        if kind == "local":
            return None
        if purpose not in self._mirrors:
            bucket = (self.gcs_exports_bucket or self.gcs_bucket) if purpose == "exports" else self.gcs_bucket
            if not bucket:
                raise ObjectStoreError("the GCS object store needs NBA_GCS_BUCKET (the bucket for landing and exports)")
            client = gcs_client(project=self.gcs_project, emulated=self.gcs_emulated)
            self._mirrors[purpose] = GcsObjectStore(bucket, prefix=self.gcs_prefix, client=client)
        return self._mirrors[purpose]

    def objects(self, purpose: str) -> LakeObjects:
        """Objects under ``lake_dir`` whose keys start ``<purpose>/``, mirrored where configured.
        ``landing`` and ``reports`` share the private bucket, ``exports`` may have its own."""
        if purpose not in ("landing", "exports", "reports"):
            raise ObjectStoreError(f"unknown object purpose {purpose!r}: expected landing, exports or reports")
        return LakeObjects(self.root, mirror=self._mirror("landing" if purpose == "reports" else purpose))

    def landing(self) -> LakeObjects:
        return self.objects("landing")

    def exports(self) -> LakeObjects:
        return self.objects("exports")

    def reports(self) -> LakeObjects:
        return self.objects("reports")

    def landing_dir(self) -> Path:
        return self.root / "landing"

    def exports_dir(self) -> Path:
        """The public export tree, ``<lake>/exports/v1`` (keys ``exports/v1/...``)."""
        return self.root / EXPORTS_PREFIX

    def mirror_landed(self, path: Path) -> str | None:
        """Copies a file just landed under ``landing/`` to the object store (write-once)."""
        return self.landing().copy_file(path, if_absent=True)
