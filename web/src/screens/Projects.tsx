import { useApp } from '../app-context.js';
import { CREATE_PROJECT, PROJECTS, type CreateProjectResult, type ProjectsResult } from '../api/documents.js';
import { ErrorText } from '../components/ErrorText.js';
import { NameForm } from '../components/NameForm.js';
import { TopBar } from '../components/TopBar.js';
import { navigate, routeHref } from '../route.js';
import { useQuery } from '../use-query.js';

/** The projects this token may see; the admin token can create one. */
export function Projects() {
  const { request } = useApp();
  const projects = useQuery('projects', () => request<ProjectsResult>(PROJECTS));
  return (
    <>
      <TopBar>
        <span aria-current="page">Projects</span>
      </TopBar>
      <main className="page">
        <h1>Projects</h1>
        <ErrorText message={projects.error} />
        {projects.data && projects.data.projects.length === 0 && <p className="muted">No project yet.</p>}
        <ul className="project-list">
          {projects.data?.projects.map((project) => (
            <li key={project.id}>
              <a href={routeHref({ screen: 'project', projectId: project.id })}>{project.name}</a>
              <span className="muted small"> {project.id}</span>
            </li>
          ))}
        </ul>
        <NameForm
          label="New project (admin token)"
          placeholder="Dental bot"
          submit="Create project"
          onSubmit={async (name) => {
            const { createProject } = await request<CreateProjectResult>(CREATE_PROJECT, { name });
            navigate({ screen: 'project', projectId: createProject.id });
          }}
        />
      </main>
    </>
  );
}
