import type { DataSource } from 'typeorm';

/** The only place that touches the maintenance_cursors table. */
export class MaintenanceRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Where the pass `name` stopped; null to start from the beginning. */
  async cursor(name: string): Promise<string | null> {
    const rows: Array<{ position: string | null }> = await this.dataSource.query(
      `SELECT position FROM maintenance_cursors WHERE name = $1`,
      [name],
    );
    return rows[0]?.position ?? null;
  }

  /** Records where the pass `name` stopped (null: it reached the end, and starts over). */
  async saveCursor(name: string, position: string | null): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO maintenance_cursors (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
      [name, position],
    );
  }
}
