import { useQuery } from '@tanstack/react-query';
import { QueryTable } from '../../components/ui/DataTable';
import { PageHeader, Panel } from '../../components/ui/Page';
import { usePager } from '../../components/ui/Pager';
import { formatTime } from '../../lib/format';
import { Link } from '../../lib/router';
import { templatesQueries } from './api';

export function TemplatesPage() {
  const pager = usePager('templates');
  const list = useQuery(templatesQueries.list(pager.cursor));
  return (
    <>
      <PageHeader title="Templates">
        <Link to="/templates/new" className="button primary">
          New template
        </Link>
      </PageHeader>
      <Panel>
        <QueryTable
          query={list}
          what="templates"
          empty="No templates yet."
          pager={pager}
          columns={['Name', 'Subject', 'Version', 'State', 'Updated']}
          rowKey={(t) => t.id}
          row={(t) => (
            <>
              <td>
                <Link to={`/templates/${t.id}`}>{t.name}</Link>
              </td>
              <td className="mono">{t.subject_template}</td>
              <td>v{t.latest_version}</td>
              <td>{t.is_active ? 'active' : <span className="muted">inactive</span>}</td>
              <td className="nowrap">{formatTime(t.updated_at)}</td>
            </>
          )}
        />
      </Panel>
    </>
  );
}
